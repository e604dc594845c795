"""The Nerfstudio viewer app: the user guide's URL leads to the training's own viewer page,
pointed at the training's proxied websocket."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from tornado import httpclient, httpserver, netutil, web

from hpclab.lab.apps import nerfstudio_viewer
from hpclab.lab.apps.nerfstudio_viewer import application, server_base, training_port
from hpclab.lab.apps.own_ports import Listener

PREFIX = "/user/alice/jupyterlab_nerf/nerfstudio/0"
PROXIED = "wss://hub.example.org/user/alice/jupyterlab_nerf/proxy/{port}/"


class TrainingPage(web.RequestHandler):
    def get(self, path: str) -> None:
        self.set_header("Content-Type", "text/html")
        self.finish(f"<title>Viser</title>training page {path or 'index'}")


def listening(app: web.Application) -> tuple[httpserver.HTTPServer, int]:
    [sock] = netutil.bind_sockets(0, "127.0.0.1")
    server = httpserver.HTTPServer(app)
    server.add_sockets([sock])
    return server, sock.getsockname()[1]


async def ask(port: int, path: str) -> httpclient.HTTPResponse:
    return await httpclient.AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{port}{path}", follow_redirects=False, raise_error=False
    )


def test_the_websocket_url_names_the_training_and_the_server():
    assert training_port(PROXIED.format(port=7010), 7007) == 7010
    assert training_port("wss://elsewhere.example.org/socket", 7007) == 7007
    assert training_port(PROXIED.format(port=99999), 7007) == 7007
    assert server_base(PREFIX) == "/user/alice/jupyterlab_nerf/"


@pytest.mark.parametrize("training_runs", [True, False])
def test_the_guides_url_opens_the_trainings_viewer(training_runs):
    async def scenario():
        training, training_port_number = listening(web.Application([(r"/(.*)", TrainingPage)]))
        if not training_runs:
            training.stop()
        viewer, port = listening(application(PREFIX, training_port_number))
        try:
            # No URL at all: the page fills in this launch's training port.
            fill_in = await ask(port, f"{PREFIX}/")
            assert fill_in.code == 200
            assert f'"proxy/{training_port_number}/"' in fill_in.body.decode()
            assert 'location.host + "/user/alice/jupyterlab_nerf/" + "proxy/' in fill_in.body.decode()
            # The guide's parameter becomes the one viser's page reads.
            guide_url = PROXIED.format(port=training_port_number)
            redirect = await ask(port, f"{PREFIX}/?websocket_url={guide_url}")
            assert redirect.code == 302
            location = urlsplit(redirect.headers["Location"])
            assert location.path == f"{PREFIX}/"
            assert parse_qs(location.query) == {"websocket": [guide_url]}
            page = await ask(port, f"{PREFIX}/?{location.query}")
            return page
        finally:
            viewer.stop()
            training.stop()

    page = asyncio.run(scenario())
    if training_runs:
        assert page.code == 200
        assert page.body.decode() == "<title>Viser</title>training page index"
    else:
        assert page.code == 502
        assert "No Nerfstudio training answers on port" in page.body.decode()


def test_a_viewer_link_to_another_users_port_does_not_serve_their_page(monkeypatch):
    """bob's page served by alice's viewer would run in alice's origin, as her."""
    monkeypatch.setattr(nerfstudio_viewer, "who_listens", lambda port: Listener.ANOTHER_USER)

    async def scenario():
        bobs, bobs_port = listening(web.Application([(r"/(.*)", TrainingPage)]))
        viewer, port = listening(application(PREFIX, 7007))
        try:
            return await ask(port, f"{PREFIX}/?{urlencode({'websocket': PROXIED.format(port=bobs_port)})}")
        finally:
            viewer.stop()
            bobs.stop()

    page = asyncio.run(scenario())
    assert page.code == 403
    assert "training page" not in page.body.decode()
    assert "Nothing of yours listens on 127.0.0.1:" in page.body.decode()
