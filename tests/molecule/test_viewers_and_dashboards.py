"""The user guide's viewers and dashboards, in a real browser, on a Slurm server of alice's:
the Nerfstudio viewer of a training on the same node, the Ray dashboard from the
Dashboards category, the Dask extension's panes, and a notebook as a Voila app. Each
program runs from the demo's modules, started from a notebook as a user would."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import BOBS_PAGE_TITLE, as_user, bobs_page_on
from hubclient import HubSession, LabKernel
from webpages import HUB, log_in, open_sidebar_panel, screenshot

SERVER = "jupyterlab_nerf"
FORM = {"kind": "slurm", "partition": "cpu", "time": "00:40:00", "cpus": "2", "memory": "4G"}
VISER_PYTHON = "/cluster/software/envs/viser-1.1/bin/python"
# A stand-in for a Nerfstudio training (no GPU here): the viser server a training runs,
# on the viewer's default port, saying when a browser's viewer connects.
TRAINING = (
    "import time, viser\n"
    "server = viser.ViserServer(host='127.0.0.1', port=7007)\n"
    "server.scene.add_icosphere('/training', radius=0.5)\n"
    "server.on_client_connect(lambda client: print('viewer connected', flush=True))\n"
    "while True: time.sleep(1)\n"
)


class Lab:
    def __init__(self, alice: HubSession, path: str, page: Page) -> None:
        self.alice, self.path, self.page = alice, path, page
        self.kernels: list[LabKernel] = []

    def run(self, code: str, kernel_name: str = "python3", timeout: float = 120) -> str:
        """Run code in a new kernel of the server (it stays up: it may start a service)."""
        kernel = LabKernel(self.alice, self.path, kernel_name)
        self.kernels.append(kernel)
        stdout, errors = kernel.execute(code, timeout=timeout)
        assert errors == "", errors
        return stdout.strip()


@pytest.fixture(scope="module")
def lab(alice: HubSession, browser: Browser) -> Iterator[Lab]:
    path = alice.open_server(SERVER, FORM)
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1500, "height": 950})
    context.set_default_timeout(60_000)
    page = context.new_page()
    log_in(page, "alice")
    # A fresh workspace (an earlier run's tabs would hide the launcher).
    page.goto(f"{HUB}{path}/lab?reset")
    expect(page.locator(".jp-Launcher")).to_be_visible(timeout=120_000)
    session = Lab(alice, path, page)
    yield session
    for kernel in session.kernels:
        kernel.close()
    context.close()
    alice.stop(SERVER)


def start_in_background(lab: Lab, argv: list[str], log: str) -> None:
    """What a user does in a terminal of the Lab: start a program that keeps running."""
    lab.run(
        "import subprocess\n"
        f"subprocess.Popen({argv!r}, stdout=open({log!r}, 'w'), stderr=subprocess.STDOUT, start_new_session=True)\n"
    )


def wait_for_line(node, path: str, line: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = node("hub").run(f"cat {path}").stdout
        if line in text or time.monotonic() > deadline:
            return text
        time.sleep(1)


def test_nerfstudio_viewer_shows_the_training_on_the_same_node_with_no_arguments(lab: Lab, node):
    start_in_background(lab, [VISER_PYTHON, "-c", TRAINING], "/home/alice/viser-training.log")
    wait_for_line(node, "/home/alice/viser-training.log", "7007")
    page = lab.page
    page.locator(".jp-LauncherCard", has_text="Nerfstudio viewer").click()
    dialog = page.locator(".jp-Dialog")
    screenshot(page, "20-nerfstudio-launch-dialog")
    with page.context.expect_page() as opened:
        dialog.locator("button.jp-mod-accept").click()
    viewer = opened.value
    # The guide's URL, filled in with this server's proxied port 7007, then viser's own page.
    expected = f"{HUB}{lab.path}/proxy/7007/".replace("https://", "wss://")
    viewer.wait_for_url(re.compile(re.escape(f"{lab.path}/nerfstudio/0/?websocket=")), timeout=90_000)
    assert viewer.evaluate("new URLSearchParams(location.search).get('websocket')") == expected
    expect(viewer).to_have_title("Viser", timeout=60_000)
    log = wait_for_line(node, "/home/alice/viser-training.log", "viewer connected")
    assert "viewer connected" in log, log
    viewer.wait_for_timeout(3000)
    screenshot(viewer, "20-nerfstudio-viewer")
    viewer.close()
    # The URL exactly as the user guide prints it.
    guide_url = f"{HUB}{lab.path}/nerfstudio/0/?websocket_url={expected}"
    viewer = page.context.new_page()
    viewer.goto(guide_url)
    expect(viewer).to_have_title("Viser", timeout=60_000)
    log = wait_for_line(node, "/home/alice/viser-training.log", "viewer connected\nviewer connected")
    assert log.count("viewer connected") == 2, log
    viewer.close()


def test_a_viewer_link_to_bobs_port_does_not_serve_bobs_page_as_alice(lab: Lab, node):
    """bob listens on alice's node and sends her a viewer link to his port: his page
    would run in alice's origin, as her."""
    compute_node = lab.run("import socket; print(socket.gethostname())")
    with bobs_page_on(node(compute_node), 7011):
        link = f"{lab.path}/nerfstudio/0/?websocket=wss://elsewhere/proxy/7011/"
        response = lab.alice.http.get(lab.alice.url(link), timeout=60)
        assert response.status_code == 403
        assert BOBS_PAGE_TITLE not in response.text
        assert "Nothing of yours listens on 127.0.0.1:7011" in response.text


def test_ray_dashboard_from_the_dashboards_category(lab: Lab):
    # Ray 2.60 asks for its cluster's token (`ray get-auth-token`): on a shared node,
    # nobody else's browser gets into alice's Ray.
    token = lab.run(
        "import ray\n"
        "ray.init(num_cpus=1, include_dashboard=True, dashboard_host='127.0.0.1', dashboard_port=8265,"
        " object_store_memory=100 * 2**20)\n"
        "import os, subprocess, sys\n"
        "ray_cli = os.path.join(os.path.dirname(sys.executable), 'ray')\n"
        "print(subprocess.check_output([ray_cli, 'get-auth-token'], text=True).split()[-1])",
        kernel_name="lmod.ray-2.60.python3",
        timeout=300,
    )
    page = lab.page
    page.locator(".jp-Launcher-section", has_text="Dashboards").get_by_text("Ray dashboard", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator("input")).to_have_value("8265")
    with page.context.expect_page() as opened:
        dialog.locator("button.jp-mod-accept").click()
    dashboard = opened.value
    assert dashboard.url == f"{HUB}{lab.path}/proxy/8265/"
    dashboard.get_by_role("textbox", name="Authentication Token").fill(token)
    dashboard.get_by_role("button", name="Submit").click()
    # The dashboard's own page, reading the head's state through the proxy: the notebook
    # that started the head is its job.
    expect(dashboard.get_by_role("heading", name="Recent jobs")).to_be_visible(timeout=90_000)
    notebook_job = re.compile(r"\(interactive_shell\) .*ipykernel_launcher")
    expect(dashboard.get_by_role("link", name=notebook_job)).to_be_visible()
    screenshot(dashboard, "21-ray-dashboard")
    dashboard.close()


def test_dask_extension_panes_show_a_local_cluster_from_a_notebook(lab: Lab):
    lab.run(
        "from dask.distributed import Client, LocalCluster\n"
        "cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address='127.0.0.1:8787')\n"
        "client = Client(cluster)\n"
        "print(client.submit(sum, [1, 2, 3]).result())",
        kernel_name="lmod.dask-2026.8.python3",
    )
    page = lab.page
    panel = open_sidebar_panel(page, "[data-id='dask-dashboard-launcher']")
    url_input = panel.locator(".dask-URLInput input")
    # The URL as the guide writes it: <hub>/user/<user>/<server>/proxy/<port>/.
    url_input.fill(f"{HUB}{lab.path}/proxy/8787/")
    url_input.press("Enter")
    task_stream = page.locator(".dask-DashboardListing-item", has_text="Task Stream")
    expect(task_stream).not_to_have_class(re.compile("inactive"), timeout=60_000)
    task_stream.click()
    frame = page.frame_locator(".dask-DaskDashboard-widget iframe").first
    expect(frame.locator(".bk-Canvas, .bk-root, canvas").first).to_be_attached(timeout=60_000)
    page.wait_for_timeout(2000)
    screenshot(page, "22-dask-extension-pane")


def test_a_notebook_opens_as_a_voila_app_with_voila_in_its_kernels_environment(lab: Lab, node):
    notebook = (
        '{"cells": [{"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [],'
        ' "source": ["import sys\\n", "print(\'Voila app of\', sys.prefix)"]}],'
        ' "metadata": {"kernelspec": {"name": "lmod.python-3.11-science.python3", "display_name": "Python 3.11'
        ' (science)", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}'
    )
    node("hub").check_output(as_user("alice", f"cat > ~/voila-app.ipynb <<'EOF'\n{notebook}\nEOF"))
    page = lab.page
    page.goto(f"{HUB}{lab.path}/lab/tree/voila-app.ipynb")
    # The notebook's toolbar button of Voila's JupyterLab extension.
    page.locator(".jp-NotebookPanel-toolbar [title='Render with Voilà']").click()
    # Written outside the Lab, the notebook is not trusted yet: Voila asks first.
    page.locator(".jp-Dialog").get_by_role("button", name="Render anyway").click()
    frame = page.frame_locator(f"iframe[src*='{lab.path}/voila/render/voila-app.ipynb']")
    expect(frame.get_by_text("Voila app of /cluster/software/envs/python-3.11-science")).to_be_visible(timeout=120_000)
    screenshot(page, "23-voila-preview")
