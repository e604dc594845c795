"""The JSON shared with the JupyterLab extension: what the Python producers send matches
hpclab.common.api_shapes, and the extension's src/shapes.ts is generated from it."""

import asyncio
import json
import os
import sys
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from hpclab.common import api_shapes
from hpclab.lab.apps.catalogue import definition
from hpclab.lab.apps.launch_input import LaunchInput
from hpclab.lab.apps.supervisor import Supervisor
from hpclab.lab.power.emission_factor import EmissionFactorSource
from hpclab.lab.power.gpus import GpuPower, GpusUnavailable
from hpclab.lab.power.rapl import find_packages
from hpclab.lab.power.sampler import PowerSampler
from hpclab.lab.sandbox.extension import PAGE_CONFIG_KEY
from powercap_trees import intel_two_packages, set_energy

SHAPES_TS = Path(__file__).parents[1] / "labextension" / "src" / "shapes.ts"
FAKE_APP = str(Path(__file__).with_name("fake_app.py"))


def mismatches(value: Any, annotation: Any, where: str = "$") -> list[str]:
    """How a JSON value departs from a shape: keys missing or unknown, types wrong."""
    if is_typeddict(annotation):
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        hints = get_type_hints(annotation)
        problems = [f"{where}.{key}: not in {annotation.__name__}" for key in sorted(value.keys() - hints.keys())]
        problems += [f"{where}.{key}: missing" for key in sorted(annotation.__required_keys__ - value.keys())]
        for key in sorted(value.keys() & hints.keys()):
            problems += mismatches(value[key], hints[key], f"{where}.{key}")
        return problems
    origin = get_origin(annotation)
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        item_shape = get_args(annotation)[0]
        return [problem for i, item in enumerate(value) for problem in mismatches(item, item_shape, f"{where}[{i}]")]
    if origin in (Union, UnionType):
        if any(not mismatches(value, member, where) for member in get_args(annotation)):
            return []
        return [f"{where}: {value!r} is not {annotation}"]
    accepted = (int, float) if annotation is float else (annotation,)  # JSON has one number type
    if not isinstance(value, accepted) or (isinstance(value, bool) and annotation is not bool):
        return [f"{where}: {value!r} is not {annotation.__name__}"]
    return []


def assert_sent_as(value: Any, shape: type) -> None:
    # What the browser gets: tornado's finish() serializes dicts to JSON.
    problems = mismatches(json.loads(json.dumps(value)), shape)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"count": 0, "reason": "no GPU"}, None),
        ({"count": 0, "reasons": "no GPU"}, "$.reasons: not in GpuPower"),
        ({"reason": "no GPU"}, "$.count: missing"),
        ({"count": True}, "$.count: True is not int"),
        ({"count": "1"}, "$.count: '1' is not int"),
    ],
)
def test_the_check_sees_renamed_missing_and_mistyped_keys(value, problem):
    assert mismatches(value, api_shapes.GpuPower) == ([problem] if problem else [])


def test_an_app_definition_as_sent():
    app = definition(
        "tensorboard",
        {"title": "TensorBoard", "command": ["tensorboard", "{socket}"], "required": ["--logdir"], "icon": "<svg/>"},
    )
    assert_sent_as(app.public(), api_shapes.App)


def test_a_running_app_as_sent(tmp_path):
    supervisor = Supervisor(
        runtime_dir=tmp_path / "run",
        log_dir=tmp_path / "logs",
        log_name=lambda name, endpoint: f"default.app-{name}-{endpoint}.log",
        url_prefix=lambda name, endpoint: f"/user/alice/{name}/{endpoint}",
        root_dir=str(tmp_path),
        server_environment={**os.environ, "HOME": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    fake = definition("fake", {"title": "Fake", "command": [sys.executable, FAKE_APP, "--socket={socket}"]})

    async def scenario() -> list[dict[str, object]]:
        await supervisor.start(fake, 1, LaunchInput(("--logdir", "runs"), {}))
        try:
            return [instance.public() for instance in supervisor.running()]
        finally:
            await supervisor.stop_all()

    running = asyncio.run(scenario())
    assert len(running) == 1
    assert_sent_as(running[0], api_shapes.RunningApp)


def power_sampler(tmp_path: Path, gpus: Any, powercap: Path) -> PowerSampler:
    now = [100.0]
    factors = EmissionFactorSource("http://unused", 56.0, "static", 3600, lambda: now[0], fetch=lambda url, t: b"")
    sampler = PowerSampler(
        packages=lambda: find_packages(powercap),
        node_cpu=lambda: (now[0] * 4, now[0] * 8),
        own_cpu=lambda: now[0],
        gpus=gpus,
        factors=factors,
        totals_file=tmp_path / "totals.json",
        clock=lambda: now[0],
    )
    sampler.sample()
    now[0] += 5
    if powercap.exists():
        set_energy(powercap, "intel-rapl:0", 300_000_000)
    sampler.sample()
    return sampler


def test_the_power_state_with_counters_and_gpus_as_sent(tmp_path):
    sampler = power_sampler(tmp_path, lambda: GpuPower(2, 200.0, 300.0, None), intel_two_packages(tmp_path / "rapl"))
    state = sampler.state()
    assert state["cpu"]["power_w"] is not None
    assert state["gpu"]["count"] == 2
    assert_sent_as(state, api_shapes.PowerState)


def test_the_power_state_without_counters_or_gpus_as_sent(tmp_path):
    def no_nvml() -> None:
        raise GpusUnavailable("NVML is not available")

    state = power_sampler(tmp_path, no_nvml, tmp_path / "none").state()
    assert state["cpu"]["power_w"] is None
    assert state["gpu"] == {"count": 0, "reason": "NVML is not available"}
    assert_sent_as(state, api_shapes.PowerState)


def test_the_sandbox_page_option_is_the_one_the_server_sets():
    assert PAGE_CONFIG_KEY == api_shapes.SANDBOX_PAGE_OPTION


def test_the_extension_shapes_are_generated_from_the_definition():
    assert SHAPES_TS.read_text() == api_shapes.typescript(), (
        "src/shapes.ts is not what hpclab/common/api_shapes.py generates: run "
        "PYTHONPATH=packages/hpclab/src .venv/bin/python -m hpclab.common.api_shapes "
        "> packages/hpclab/labextension/src/shapes.ts"
    )
