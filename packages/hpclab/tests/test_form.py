"""The spawn form's HTML: the sandbox box only where the sandbox is offered; a kind
preselected that can be submitted."""

from __future__ import annotations

import asyncio
import re
from types import SimpleNamespace

from hpclab.hub.cluster import parse_sinfo
from hpclab.hub.commands import CommandError
from hpclab.hub.form import render_options_form

PARTITIONS = parse_sinfo("cpu|cpu*|1-00:00:00|8|16000|(null)\n")


def form(sandbox_enabled: bool, previous: dict | None = None, sinfo_fails: bool = False) -> str:
    async def partitions() -> dict:
        if sinfo_fails:
            raise CommandError("sinfo: Unable to contact slurm controller")
        return PARTITIONS

    spawner = SimpleNamespace(
        partitions=partitions,
        user_options=previous,
        interactive_memory_bytes=5 * 1024**3,
        sandbox_enabled=sandbox_enabled,
    )
    return asyncio.run(render_options_form(spawner))


def sandbox_box(html: str) -> str:
    """The checkbox's tag, or "" when the form has none."""
    match = re.search(r'<input[^>]*name="sandbox"[^>]*>', html)
    return match.group(0) if match else ""


def test_the_sandbox_box_is_offered_unticked():
    box = sandbox_box(form(True))
    assert 'type="checkbox"' in box
    assert "checked" not in box


def test_the_previous_choice_is_kept():
    assert "checked" in sandbox_box(form(True, {"kind": "interactive", "sandbox": "on"}))
    assert "checked" in sandbox_box(form(True, {"kind": "slurm", "sandbox": True}))


def test_no_sandbox_box_where_it_is_not_offered():
    assert sandbox_box(form(False)) == ""


def kind_radio(html: str, kind: str) -> str:
    return re.search(rf'<input[^>]*id="kind-{kind}"[^>]*>', html, re.DOTALL).group(0)


def test_slurm_is_preselected_when_the_cluster_answers():
    html = form(True)
    assert "checked" in kind_radio(html, "slurm")
    assert "checked" not in kind_radio(html, "interactive")


def test_without_partitions_interactive_is_preselected_and_slurm_disabled():
    # A disabled radio is not submitted: had SLURM stayed checked, Start would send no kind.
    html = form(True, {"kind": "slurm"}, sinfo_fails=True)
    assert "SLURM servers are unavailable" in html
    assert "checked" in kind_radio(html, "interactive")
    slurm = kind_radio(html, "slurm")
    assert "disabled" in slurm
    assert "checked" not in slurm
