"""The spawn form's HTML: the sandbox box only where the sandbox is offered; a kind
preselected that can be submitted."""

from __future__ import annotations

import asyncio
import json
import re
from types import SimpleNamespace

from policy_samples import ALICE, BOB

from hpclab.hub.cluster import parse_sinfo
from hpclab.hub.commands import CommandError
from hpclab.hub.form import render_options_form
from hpclab.hub.slurm_policy import ClusterPolicy, UserPolicy

PARTITIONS = parse_sinfo("cpu|cpu*|1-00:00:00|8|16000|(null)\n")


def form(
    sandbox_enabled: bool,
    previous: dict | None = None,
    sinfo_fails: bool = False,
    policy: UserPolicy | None = None,
    presets: list | None = None,
) -> str:
    async def user_policy() -> UserPolicy:
        if sinfo_fails:
            raise CommandError("sinfo: Unable to contact slurm controller")
        return policy or ClusterPolicy(PARTITIONS).for_user("alice")

    spawner = SimpleNamespace(
        user_policy=user_policy,
        presets=presets or [],
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


def select_options(html: str, name: str) -> list[str]:
    match = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.DOTALL)
    return re.findall(r'<option value="([^"]*)"', match.group(0)) if match else []


def test_alice_is_offered_her_accounts_with_her_default_selected_and_no_reservation_of_bobs():
    html = form(True, policy=ALICE)
    assert select_options(html, "account") == ["astro", "climate"]
    assert re.search(r'<option value="astro" selected>', html)
    assert select_options(html, "qos") == ["dev", "normal"]
    assert "training" not in select_options(html, "reservation")


def test_bob_is_offered_his_reservation_with_its_window():
    html = form(True, policy=BOB)
    assert select_options(html, "account") == ["bio"]
    assert select_options(html, "reservation") == ["", "training"]
    assert "training: 2026-12-08 09:00:00 to 2026-12-08 12:00:00, on cn2" in html


def test_the_page_script_gets_each_bound_and_what_sets_it():
    view = json.loads(re.search(r'id="hpclab-policy">(.*?)</script>', form(True, policy=ALICE), re.DOTALL).group(1))
    assert view["limits"]["astro"]["dev"]["cpu"] == {
        "seconds": 1800,
        "text": "00:30:00",
        "setBy": "the dev QoS's MaxWall",
        "refusal": "",
    }
    assert (
        view["limits"]["climate"]["normal"]["gpu"]["refusal"]
        == "the gpu partition does not take jobs of the climate account"
    )
    assert view["partitions"]["gpu"]["gpuTypes"] == {"t4": 2, "a100": 2}


def test_only_the_presets_this_user_may_use_are_shown():
    presets = [
        {"name": "Quick test", "options": {"kind": "slurm", "qos": "dev", "time": "00:30:00"}},
        {"name": "Training", "options": {"kind": "slurm", "reservation": "training", "time": "02:00:00"}},
    ]
    assert select_radio_values(form(True, policy=ALICE, presets=presets), "form_preset") == ["Quick test", ""]
    assert select_radio_values(form(True, policy=BOB, presets=presets), "form_preset") == ["Quick test", "Training", ""]


def select_radio_values(html: str, name: str) -> list[str]:
    return re.findall(rf'<input[^>]*type="radio" name="{name}"[^>]*value="([^"]*)"', html)


def test_a_second_start_is_prefilled_with_the_last_options():
    previous = {"kind": "slurm", "account": "climate", "qos": "normal", "partition": "cpu", "time": "02:00:00",
                "environment": {"A": "1"}}  # fmt: skip
    html = form(True, previous, policy=ALICE)
    assert re.search(r'<option value="climate" selected>', html)
    assert select_options(html, "qos") == ["normal"]
    assert 'name="time" id="time" maxlength="16" value="02:00:00"' in html
    assert ">A=1</textarea>" in html


def test_a_policy_that_could_end_the_script_early_is_escaped():
    html = form(
        True,
        policy=ClusterPolicy(parse_sinfo("cpu</script><script>alert(1)|cpu*|1:00:00|8|16000|(null)\n")).for_user("a"),
    )
    script = re.search(r'id="hpclab-policy">(.*?)</script>', html, re.DOTALL).group(1)
    assert "</script>" not in script
    assert "<script>" not in script
    assert json.loads(script)["partitions"]
