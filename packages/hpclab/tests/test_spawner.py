"""The hub's spawner in-process, against stand-ins for Slurm and the Interactive helper
(fake_slurm.py): both kinds' life cycle, a job that waits in the queue, a job that ends
during its start, a restart of the hub, and a logout with pending servers."""

from __future__ import annotations

import asyncio
import getpass
import logging
import pwd
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fake_slurm import FakeSlurm, install_fake_slurm
from jupyterhub import orm
from jupyterhub.objects import Hub
from tornado import web
from traitlets.config import Config

from hpclab.hub import hub_services
from hpclab.hub import spawner as spawner_module
from hpclab.hub.job_poller import Presence
from hpclab.hub.logout import HpclabPAMAuthenticator, StopEverythingLogoutHandler
from hpclab.hub.node_report import NodeReport, NodeReportRefused
from hpclab.hub.server_kind import SpawnFailed
from hpclab.hub.spawner import HpclabSpawner
from hpclab.hub.time_extension import ExtensionRefused

USER = getpass.getuser()
SLURM_OPTIONS = {"kind": "slurm", "partition": "cpu", "time": "00:30:00", "cpus": "1", "memory": "512M"}


class FakeUser:
    """What the spawner reads of JupyterHub's User."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.escaped_name = name
        self.url = f"/user/{name}/"
        self.spawners: dict[str, HpclabSpawner] = {}
        self.spawner: HpclabSpawner | None = None


@pytest.fixture
def slurm(tmp_path: Path) -> Iterator[FakeSlurm]:
    fake = install_fake_slurm(tmp_path / "bin")
    yield fake
    fake.stop_everything()
    new_hub_process()


def new_hub_process() -> None:
    """Forget the hub-wide services, as a restarted hub process starts without them."""
    hub_services._SERVICES.clear()


def new_spawner(slurm: FakeSlurm, user: FakeUser, name: str = "", **settings: Any) -> HpclabSpawner:
    config = Config()
    config.HpclabSpawner = Config(
        {
            "slurm_bin": str(slurm.bin),
            "sudo": [str(slurm.bin / "sudo"), "-n"],
            "interactive_helper": [str(slurm.bin / "hpclab-interactive")],
            "systemctl": str(slurm.bin / "systemctl"),
            "work_root": "/cluster/work",
            "jupyter_env_bin": "/opt/hpclab/jupyter/bin",
            # The test asks for every poll itself; starts check often.
            "job_poll_interval": 3600,
            "job_poll_min_gap": 0,
            "startup_poll_interval": 0.05,
            "orphan_job_check_delay": 3600,
            "sandbox_enabled": False,
            **settings,
        }
    )
    # JupyterHub's database row of the server, as far as the spawner reads it.
    row = SimpleNamespace(name=name, server=None, last_activity=None)
    spawner = HpclabSpawner(config=config, user=user, hub=Hub(), orm_spawner=row, api_token="server-token")
    user.spawners[name] = spawner
    user.spawner = user.spawners.get("", spawner)
    return spawner


async def start(spawner: HpclabSpawner, options: dict[str, Any]) -> asyncio.Task[tuple[str, int]]:
    """Start as JupyterHub does: options applied first, the start pending meanwhile."""
    spawner.user_options = options
    await spawner.apply_user_options(spawner, options)
    spawner._spawn_pending = True

    async def run() -> tuple[str, int]:
        try:
            ip, port = await spawner.start()
        finally:
            spawner._spawn_pending = False
        spawner.orm_spawner.server = orm.Server(
            proto="http", ip=ip, port=port, base_url=spawner.user.url, cookie_name=""
        )
        return ip, port

    task = asyncio.create_task(run())
    spawner._spawn_future = task
    return task


async def until(condition: Callable[[], Any], seconds: float = 10) -> Any:
    for _ in range(int(seconds / 0.02)):
        if value := condition():
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def event_saying(progress: AsyncIterator[dict[str, Any]], words: str) -> str:
    """The first of the spawn page's next events that says words."""

    async def scan() -> str:
        async for event in progress:
            if words in event["message"]:
                return event["message"]
        raise AssertionError(f"the progress ended without {words!r}")

    return await asyncio.wait_for(scan(), 10)


@pytest.fixture
def node_server() -> Iterator[socket.socket]:
    """What listens on the compute node once JupyterLab is up."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    async def closing() -> Any:
        try:
            return await scenario()
        finally:
            # The hub's tasks only: cancelling asyncio's own task that connects a new
            # command's pipes makes its creation wait for ever (CPython gh-103847).
            others = {task for task in asyncio.all_tasks() - {asyncio.current_task()} if not _asyncio_internal(task)}
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

    return asyncio.run(closing())


def _asyncio_internal(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and Path(code.co_filename).parent == Path(asyncio.__file__).parent


# ----- SLURM ------------------------------------------------------------------------------


def test_a_slurm_server_waits_in_the_queue_then_starts_on_its_node(slurm, node_server):
    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER))
        starting = await start(spawner, SLURM_OPTIONS)
        await until(lambda: slurm.jobs.get("100"))
        progress = spawner.progress()
        assert await event_saying(progress, "pending") == "Slurm job 100 is pending in the queue (Priority)"

        slurm.set_job("100", state="RUNNING", node="127.0.0.1", reason="None")
        await event_saying(progress, "running on 127.0.0.1")
        port = node_server
        spawner.accept_node_report(NodeReport(port=port.getsockname()[1]))
        address = await asyncio.wait_for(starting, 10)
        summary = spawner.summary()
        return address, port.getsockname()[1], summary, await spawner.poll()

    (ip, port), reported, summary, poll = run(scenario)
    assert (ip, port) == ("127.0.0.1", reported)
    assert poll is None
    assert summary["kind"] == "SLURM"
    assert summary["job"] == "100"
    assert summary["node"] == "127.0.0.1"
    assert summary["time_left"][:5] in ("00:30", "00:29")
    test_only, sbatch = slurm.calls("sudo")[:2]
    # Slurm was asked first, as the user, whether it would take the job.
    assert test_only[1:] == ["-u", USER, str(slurm.bin / "sbatch"), "--test-only"]
    assert sbatch[:4] == ["-n", "-E", "-u", USER]
    assert sbatch[4].endswith("/sbatch")
    script = slurm.jobs["100"]["script"]
    [exported] = [line for line in script.splitlines() if line.startswith("#SBATCH --export=")]
    assert {"USER", "HOME", "SHELL", "JUPYTERHUB_API_TOKEN"} <= set(exported.split("=", 1)[1].split(","))
    assert "#SBATCH --partition=cpu\n" in script
    assert "#SBATCH --mem=512M\n" in script
    assert slurm.jobs["100"]["user"] == USER


async def running_slurm_server(slurm: FakeSlurm, spawner: HpclabSpawner, port: int) -> None:
    starting = await start(spawner, SLURM_OPTIONS)
    await until(lambda: slurm.jobs.get("100"))
    slurm.set_job("100", state="RUNNING", node="127.0.0.1", reason="None", end="2099-01-01T00:00:00")
    await until(lambda: spawner.server_kind and spawner.server_kind.job_state and spawner.server_kind.job_state.running)
    spawner.accept_node_report(NodeReport(port=port))
    await asyncio.wait_for(starting, 10)


def test_more_time_raises_the_running_jobs_limit_by_one_step_as_an_operator(slurm, node_server, monkeypatch):
    monkeypatch.setenv("FAKE_OPERATOR", "1")

    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER), extend_step=3600, extend_most=2 * 3600)
        await running_slurm_server(slurm, spawner, node_server.getsockname()[1])
        before = await spawner.session_report()
        after = await spawner.extend_time()
        with pytest.raises(ExtensionRefused) as too_soon:
            await spawner.extend_time()
        monkeypatch.setattr(spawner_module, "EXTEND_GAP_S", 0)
        with pytest.raises(ExtensionRefused) as refused:
            await spawner.extend_time()
        return before, after, str(too_soon.value), str(refused.value)

    before, after, too_soon, refused = run(scenario)
    # One try per server every few seconds: a token cannot make the hub run scontrol at will.
    assert too_soon == "more time was asked a moment ago: try again in a few seconds"
    assert (before["kind"], before["job_id"], before["extend"]) == ("slurm", "100", {"step_s": 3600, "reason": ""})
    assert after["time_limit"] == "01:30:00"
    assert slurm.jobs["100"]["limit"] == "01:30:00"
    # As the hub itself, never through sudo: the hub is the Slurm operator.
    updates = [call for call in slurm.calls("scontrol") if call[:1] == ["update"]]
    assert updates == [["update", "JobId=100", "TimeLimit=01:30:00"]]
    assert refused == (
        "+01:00:00 would make the job's limit 02:30:00, past this site's most for '+1 h', 02:00:00 "
        "(the limit is 01:30:00: at most 00:30:00 more)"
    )


def test_a_site_without_extensions_offers_none_and_refuses_them(slurm, node_server):
    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER))
        await running_slurm_server(slurm, spawner, node_server.getsockname()[1])
        report = await spawner.session_report()
        with pytest.raises(ExtensionRefused, match="does not extend"):
            await spawner.extend_time()
        return report

    report = run(scenario)
    assert report["extend"]["step_s"] == 0
    assert not [call for call in slurm.calls("scontrol") if call[:1] == ["update"]]


def test_a_job_that_ends_during_its_start_fails_the_spawn_with_slurms_reason(slurm):
    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER))
        starting = await start(spawner, SLURM_OPTIONS)
        await until(lambda: slurm.jobs.get("100"))
        slurm.set_job("100", state="FAILED", reason="NonZeroExitCode", exit="1:0")
        with pytest.raises(SpawnFailed) as failure:
            await asyncio.wait_for(starting, 10)
        return failure.value.log_message, spawner.summary(), spawner.get_state()

    message, summary, state = run(scenario)
    assert message == (
        "Slurm job 100 ended: FAILED (reason: NonZeroExitCode, exit code 1:0). "
        f"Log: /cluster/work/{USER}/jupyter_spawner_logs/default.slurm-100.log"
    )
    assert summary["end_reason"] == "Slurm job 100 ended: FAILED (reason: NonZeroExitCode)"
    assert "job_id" not in state


def test_a_startup_error_from_the_node_fails_the_spawn_at_once_with_its_log(slurm):
    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER), "gpu-run")
        starting = await start(spawner, SLURM_OPTIONS)
        await until(lambda: slurm.jobs.get("100"))
        slurm.set_job("100", state="RUNNING", node="127.0.0.1")
        await until(lambda: spawner.summary().get("node") == "127.0.0.1")
        spawner.accept_node_report(NodeReport(startup_error="No module named jupyterhub."))
        with pytest.raises(SpawnFailed) as failure:
            await asyncio.wait_for(starting, 10)
        with pytest.raises(NodeReportRefused):
            spawner.accept_node_report(NodeReport(port=8888))
        return failure.value.log_message

    assert run(scenario) == (
        f"No module named jupyterhub. Log: /cluster/work/{USER}/jupyter_spawner_logs/gpu-run.slurm-100.log"
    )


def test_a_start_interrupted_before_sbatch_confirms_leaves_no_job(slurm):
    """A logout or a stop while slurmctld is slow to answer sbatch: the job it queued
    has no id on the hub's side yet, and must not run on, unseen, holding resources."""

    async def scenario():
        slurm.delay_sbatch_answers(30)
        spawner = new_spawner(slurm, FakeUser(USER))
        starting = await start(spawner, SLURM_OPTIONS)
        await until(lambda: slurm.jobs.get("100"))
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return spawner.summary().get("job")

    assert not run(scenario)
    assert slurm.jobs["100"]["state"] == "CANCELLED"


def test_a_job_slurm_would_refuse_is_a_400_with_slurms_reason_and_nothing_is_queued(slurm):
    slurm.refuse_test_submissions("QOSMaxWallDurationPerJobLimit")

    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER))
        with pytest.raises(web.HTTPError) as refused:
            await start(spawner, SLURM_OPTIONS)
        return refused.value

    refused = run(scenario)
    assert refused.status_code == 400
    assert refused.log_message == "Slurm would refuse this job: QOSMaxWallDurationPerJobLimit"
    assert slurm.jobs == {}


def test_the_home_page_gets_what_the_job_asked_for(slurm):
    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER))
        starting = await start(spawner, {**SLURM_OPTIONS, "account": "astro", "cpus": "2", "memory": "2G"})
        await until(lambda: spawner.summary().get("job"))
        summary = spawner.summary()
        await spawner.stop()
        starting.cancel()
        return summary

    summary = run(scenario)
    assert {key: summary[key] for key in ("account", "qos", "partition", "cpus", "memory", "gpus")} == {
        "account": "astro",
        "qos": "",
        "partition": "cpu",
        "cpus": "2",
        "memory": "2G",
        "gpus": "0",
    }


def test_stopping_a_queued_server_cancels_its_job_as_its_owner(slurm):
    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER))
        starting = await start(spawner, SLURM_OPTIONS)
        await until(lambda: spawner.summary().get("job"))
        await spawner.stop()
        starting.cancel()

    run(scenario)
    assert slurm.jobs["100"]["state"] == "CANCELLED"
    assert [USER, str(slurm.bin / "scancel"), "100"] == slurm.calls("sudo")[-1][2:]


def test_a_running_job_is_kept_across_a_hub_restart_and_its_end_is_seen(slurm, node_server):
    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER))
        starting = await start(spawner, SLURM_OPTIONS)
        await until(lambda: slurm.jobs.get("100"))
        slurm.set_job("100", state="RUNNING", node="127.0.0.1")
        port = node_server
        spawner.accept_node_report(NodeReport(port=port.getsockname()[1]))
        await asyncio.wait_for(starting, 10)
        saved = spawner.get_state()

        # A new hub process: new spawner, new shared services, state from the database.
        new_hub_process()
        restarted = new_spawner(slurm, FakeUser(USER))
        restarted.load_state(saved)
        poller = restarted.services.poller
        watched = poller.watched
        # Loading the state is enough for the poller to ask Slurm, and for poll to know.
        await until(lambda: poller.report("100").presence is Presence.RUNNING)
        while_running = await restarted.poll()
        slurm.set_job("100", state="TIMEOUT", reason="None")
        await poller.poll_once()
        return saved, watched, while_running, await restarted.poll(), restarted.summary()

    saved, watched, while_running, after_end, summary = run(scenario)
    assert watched == {"100"}
    assert saved["kind"] == "slurm"
    assert saved["job_id"] == "100"
    assert while_running is None
    assert after_end == 1
    assert summary["end_reason"] == "Slurm job 100 ended: time limit reached (00:30:00)"


def test_squeue_that_fails_keeps_the_server(slurm):
    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER))
        spawner.load_state({"kind": "slurm", "job_id": "100"})
        squeue = slurm.bin / "squeue"
        real_squeue = squeue.read_text()
        squeue.write_text("#!/bin/sh\necho 'slurm_load_jobs error: Socket timed out' >&2\nexit 1\n")
        await spawner.services.poller.fresh_report("100")
        while_failing = await spawner.poll()
        # Once squeue answers again, the job's end is seen.
        squeue.write_text(real_squeue)
        await spawner.services.poller.poll_once()
        return spawner.services.poller.calls, while_failing, await spawner.poll()

    calls, while_failing, once_answered = run(scenario)
    assert calls == 2
    assert while_failing is None
    assert once_answered == 1


# ----- Interactive ----------------------------------------------------------------------


def test_an_interactive_server_starts_on_the_login_node_and_its_exit_is_seen(slurm):
    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER))
        starting = await start(spawner, {"kind": "interactive"})
        await event_saying(spawner.progress(), "Starting JupyterLab on the login node")
        ip, port = await asyncio.wait_for(starting, 10)
        env = spawner.get_env()
        running = await spawner.poll()
        key = f"{pwd.getpwnam(USER).pw_uid}-"
        slurm.end_unit(key, 3)
        return ip, port, env, running, await spawner.poll(), spawner.summary()

    ip, port, env, running, exited, summary = run(scenario)
    assert ip == "127.0.0.1"
    assert port > 0
    assert env["MEM_LIMIT"] == str(5 * 1024**3)
    assert env["JUPYTERHUB_API_TOKEN"] == "server-token"
    assert running is None
    assert exited == 3
    assert summary["kind"] == "Interactive"
    assert summary["node"] == socket.gethostname()
    assert slurm.calls("sbatch") == []


def test_stopping_an_interactive_server_stops_its_unit(slurm):
    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER), "lab2")
        await asyncio.wait_for(await start(spawner, {"kind": "interactive"}), 10)
        await spawner.stop()
        return await spawner.poll()

    assert run(scenario) == 1
    assert slurm.calls("hpclab-interactive")[-1] == ["stop", USER, "lab2"]


def test_the_hub_cancels_server_jobs_it_does_not_know_from_its_start_without_any_server(slurm):
    """A hub whose database was lost: the sweep starts with the hub (its authenticator's
    routes), not with a first server, and leaves the users' other jobs alone."""

    async def scenario():
        slurm.add_job("300", USER, "jupyterhub-lost", state="RUNNING")
        slurm.add_job("301", USER, "training-run", state="RUNNING")
        config = new_spawner(slurm, FakeUser(USER)).config
        config.HpclabSpawner.orphan_job_check_delay = 0.1
        config.HpclabSpawner.orphan_job_grace = 0.2
        new_hub_process()
        hub = SimpleNamespace(spawner_class=HpclabSpawner, config=config)
        HpclabPAMAuthenticator().get_handlers(hub)
        await until(lambda: slurm.jobs["300"]["state"] == "CANCELLED")

    run(scenario)
    assert slurm.jobs["301"]["state"] == "RUNNING"
    assert slurm.calls("sudo")[-1][2:] == [USER, str(slurm.bin / "scancel"), "300"]


# ----- logout -----------------------------------------------------------------------------


class FakeLogoutHandler:
    """What the logout handler uses of JupyterHub's BaseHandler."""

    log = logging.getLogger("logout-test")

    def __init__(self, user: FakeUser) -> None:
        self.current_user = user
        self.stopped: list[str] = []

    async def stop_single_user(self, user: FakeUser, name: str) -> None:
        self.stopped.append(name)
        await user.spawners[name].stop()

    _stop = StopEverythingLogoutHandler._stop
    handle_logout = StopEverythingLogoutHandler.handle_logout


def test_logout_stops_every_server_and_cancels_queued_jobs_but_not_other_jobs(slurm):
    async def scenario():
        user = FakeUser(USER)
        running = new_spawner(slurm, user)
        await asyncio.wait_for(await start(running, {"kind": "interactive"}), 10)
        queued = new_spawner(slurm, user, "big")
        starting = await start(queued, SLURM_OPTIONS)
        await until(lambda: slurm.jobs.get("100"))
        # A server job the hub lost track of, and the user's own batch work.
        slurm.add_job("200", USER, "jupyterhub-old")
        slurm.add_job("201", USER, "training-run")
        handler = FakeLogoutHandler(user)
        await handler.handle_logout()
        return handler.stopped, starting.cancelled(), await running.poll()

    stopped, start_interrupted, interactive_poll = run(scenario)
    assert stopped == [""]
    assert start_interrupted
    assert interactive_poll == 1
    assert {job: slurm.jobs[job]["state"] for job in ("100", "200", "201")} == {
        "100": "CANCELLED",
        "200": "CANCELLED",
        "201": "PENDING",
    }


def test_a_running_job_put_back_in_the_queue_stops_its_server_and_is_cancelled(slurm, node_server):
    """Requeued (by an admin, or a node's failure despite --no-requeue), the job's server is
    gone, and another user could listen on the port the proxy still routes to."""

    async def scenario():
        spawner = new_spawner(slurm, FakeUser(USER))
        await running_slurm_server(slurm, spawner, node_server.getsockname()[1])
        slurm.set_job("100", state="PENDING", reason="BeginTime", node="")
        await spawner.services.poller.fresh_report("100")
        return await spawner.poll(), spawner.summary()

    poll, summary = run(scenario)
    assert poll == 1
    assert slurm.jobs["100"]["state"] == "CANCELLED"
    assert summary["end_reason"].startswith("Slurm put job 100 back in the queue")
