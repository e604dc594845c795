import asyncio
import os
import sys
from pathlib import Path

import pytest

from hpclab.lab.apps.catalogue import definition
from hpclab.lab.apps.launch_input import LaunchInput
from hpclab.lab.apps.supervisor import AppStartError, Supervisor, answers_http

FAKE_APP = str(Path(__file__).with_name("fake_app.py"))


def app(listen: str, **extra):
    return definition("fake", {"title": "Fake", "command": [sys.executable, FAKE_APP, *listen.split()], **extra})


@pytest.fixture
def supervisor(tmp_path):
    return Supervisor(
        runtime_dir=tmp_path / "run",
        log_dir=tmp_path / "logs",
        log_name=lambda name, endpoint: f"default.app-{name}-{endpoint}.log",
        url_prefix=lambda name, endpoint: f"/user/alice/{name}/{endpoint}",
        root_dir=str(tmp_path),
        server_environment={
            **os.environ,
            "HOME": str(tmp_path),
            "APP_COLOUR": "from-server",
            # In a server the package is installed; here it comes from the source tree.
            "PYTHONPATH": os.pathsep.join(sys.path),
        },
    )


def run(coroutine):
    return asyncio.run(coroutine)


def test_an_app_on_a_unix_socket_is_ready_then_stopped(supervisor, tmp_path):
    async def scenario():
        instance = await supervisor.start(app("--socket={socket}"), 1, LaunchInput(("--logdir", "runs"), {}))
        assert await answers_http(instance.socket_path, 0, "/")
        assert [item.endpoint for item in supervisor.running()] == [1]
        assert await supervisor.stop("fake", 1)
        assert instance.process.returncode is not None
        assert not os.path.exists(instance.socket_path)
        return instance

    instance = run(scenario())
    log = instance.log_path.read_text()
    assert "fake app starting with ['--logdir', 'runs']" in log
    assert supervisor.running() == []


def test_an_apps_own_sockets_and_temporary_files_go_to_the_servers_private_directory(supervisor, tmp_path):
    async def scenario():
        previous = os.umask(0)
        try:
            instance = await supervisor.start(app("--socket={socket}"), 0, LaunchInput((), {}))
        finally:
            os.umask(previous)
        await supervisor.stop_all()
        return instance

    instance = run(scenario())
    log = instance.log_path.read_text()
    assert f"runtime directory {tmp_path / 'run'}, temporary directory {tmp_path / 'run'}" in log
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700


def test_dialog_variables_win_and_the_workdir_variable_is_honoured(supervisor, tmp_path):
    (tmp_path / "mlflow").mkdir()

    async def scenario():
        fake = app("--port={port}", workdir_variable="MLRUNS_DIR", private_network=False)
        launch = LaunchInput((), {"APP_COLOUR": "from-dialog", "MLRUNS_DIR": str(tmp_path / "mlflow")})
        instance = await supervisor.start(fake, 0, launch)
        reader, writer = await asyncio.open_connection("127.0.0.1", instance.port)
        writer.write(b"GET /x HTTP/1.0\r\n\r\n")
        answer = (await reader.read()).decode()
        writer.close()
        await supervisor.stop_all()
        return answer

    assert run(scenario()).endswith(f"/x {tmp_path / 'mlflow'} from-dialog")


def test_a_failing_app_reports_the_tail_of_its_output_at_once(supervisor):
    async def scenario():
        with pytest.raises(AppStartError) as raised:
            await supervisor.start(app("--socket={socket} --fail"), 0, LaunchInput((), {}))
        return raised.value

    error = run(scenario())
    assert "exited with status 3" in error.message
    assert "ValueError: --logdir must name a directory" in error.log_tail
    assert supervisor.failures[("fake", 0)] is error


def test_a_missing_program_says_what_to_do(supervisor):
    novnc = definition(
        "novnc",
        {"command": ["vncserver-that-is-not-here", "{port}"], "missing_help": "launch noVNC on a visu node"},
    )
    with pytest.raises(AppStartError, match=r"not installed on .*: launch noVNC on a visu node"):
        run(supervisor.start(novnc, 0, LaunchInput((), {})))


def test_a_tcp_app_in_its_own_network_is_reachable_only_through_its_socket(supervisor):
    async def scenario():
        instance = await supervisor.start(app("--port={port}"), 2, LaunchInput((), {}))
        through_socket = await answers_http(instance.socket_path, 0, "/")
        inner_port = int(instance.log_path.read_text().split("--port=")[1].split("'")[0])
        from_the_node = await answers_http("", inner_port, "/")
        await supervisor.stop_all()
        return through_socket, from_the_node, instance

    through_socket, from_the_node, instance = run(scenario())
    assert through_socket
    assert not from_the_node
    assert instance.process.returncode is not None
