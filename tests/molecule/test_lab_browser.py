"""alice's day in JupyterLab, in a real browser (Debian's chromium driven by Playwright),
through the hub's login form and proxy. The steps run in order on one page; each keeps a
screenshot in artifacts/browser/."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from conftest import REPO, as_user
from webpages import HUB, SCREENSHOTS, log_in, open_sidebar_panel, screenshot

SERVER = "browser"
LAB = f"{HUB}/user/alice/{SERVER}/lab"
# The user guide's order ("Launcher categories").
CATEGORIES = ("Notebook", "Applications", "Dashboards", "HPC Tools", "Documentation", "Console", "Other")
DOCUMENTATION = ("JupyterLab", "Slurm", "Lmod", "Python", "Dask")
ICONS = REPO / "files" / "icons"
DEMO_MODULES = ("python/3.11-base", "python/3.11-science", "demo-project/1.0")
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def page(browser: Browser, alice) -> Iterator[Page]:
    # The alice fixture starts her from no server at all. The demo certificate is
    # self-signed; the API tests check it exactly, the browser accepts it.
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1500, "height": 950})
    context.set_default_timeout(60_000)
    page = context.new_page()
    yield page
    (SCREENSHOTS / "timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")
    context.close()


def launcher_section(page: Page, category: str):
    title = page.locator(".jp-Launcher-sectionTitle", has_text=re.compile(f"^{re.escape(category)}$"))
    return page.locator(".jp-Launcher-section", has=title)


def test_login_form_and_slurm_server_from_the_spawn_form(page: Page, node):
    # Files the later steps look for, there before the Lab lists its directories.
    node("hub").check_output(as_user("alice", 'for d in HOME WORK SCRATCH; do touch "${!d}/in-$d.txt"; done'))
    log_in(page, "alice", "01-login")
    page.goto(f"{HUB}/hub/spawn/alice/{SERVER}")
    page.check("#kind-slurm")
    page.select_option("#partition", "cpu")
    page.fill("#time", "00:30:00")
    page.fill("#cpus", "2")
    page.fill("#memory", "1G")
    screenshot(page, "02-spawn-form")
    started = time.monotonic()
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(f"/user/alice/{SERVER}/lab"), timeout=180_000)
    expect(launcher_section(page, "Notebook").locator(".jp-LauncherCard").first).to_be_visible(timeout=120_000)
    TIMINGS["start_click_to_usable_lab_s"] = round(time.monotonic() - started, 2)
    print(f"click Start -> usable Lab: {TIMINGS['start_click_to_usable_lab_s']} s")
    screenshot(page, "03-lab-launcher")


def test_launcher_shows_the_guides_categories_in_its_order_and_the_documentation_icons(page: Page):
    titles = page.locator(".jp-Launcher-sectionTitle").all_inner_texts()
    assert tuple(titles) == CATEGORIES
    labels = launcher_section(page, "Documentation").locator(".jp-LauncherCard-label").all_inner_texts()
    assert tuple(labels) == DOCUMENTATION
    # A documentation icon opens its site in a new tab (the closed network gets a stand-in).
    page.context.route("https://slurm.schedmd.com/**", lambda route: route.fulfill(body="Slurm documentation"))
    with page.context.expect_page() as opened:
        launcher_section(page, "Documentation").get_by_text("Slurm", exact=True).click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == "https://slurm.schedmd.com/documentation.html"
    tab.close()
    assert "Slurm Dashboard" in launcher_section(page, "HPC Tools").locator(".jp-LauncherCard-label").all_inner_texts()
    screenshot(page, "04-launcher-categories")


# Launcher entries and the bundle's logo each shows (files/icons); None: the initials badge.
LOGOS = {
    ("Documentation", "JupyterLab"): "jupyter.svg",
    ("Documentation", "Slurm"): None,
    ("Documentation", "Lmod"): None,
    ("Documentation", "Python"): "python.svg",
    ("Documentation", "Dask"): "dask.svg",
    ("Dashboards", "Dask dashboard"): "dask.svg",
    ("Dashboards", "Ray dashboard"): "ray.svg",
    ("Applications", "TensorBoard"): "tensorflow.svg",
    ("Applications", "MLflow"): "mlflow.svg",
    ("Applications", "noVNC desktop"): "novnc.svg",
    ("Applications", "code-server"): "coder.svg",
    ("Applications", "Nerfstudio viewer"): None,
}


def first_path_data(svg: str) -> str:
    """The start of an SVG's first path, whitespace as a parsed document has it."""
    data = re.search(r'\sd="([^"]+)"', svg)
    assert data is not None
    return " ".join(data.group(1).split())[:40]


def test_launcher_entries_show_their_projects_logos(page: Page):
    for (category, label), logo in LOGOS.items():
        # By its label: a logo's <title> is text of the card too.
        label_text = page.locator(".jp-LauncherCard-label", has_text=re.compile(f"^{re.escape(label)}$"))
        card = launcher_section(page, category).locator(".jp-LauncherCard", has=label_text)
        icon = " ".join(card.locator(".jp-LauncherCard-icon svg").first.evaluate("svg => svg.outerHTML").split())
        if logo is None:
            # The badge: the label's initials ("NV" for Nerfstudio viewer).
            assert re.search(f">{label[0]}[A-Z]?</text>", icon), (label, icon[:200])
        else:
            assert "</text>" not in icon, (label, icon[:200])
            assert first_path_data((ICONS / logo).read_text()) in icon, (label, logo)


# How Chromium reports a request its Content-Security-Policy stopped: Debian's chromium
# gives CDP's blockedReason, others the network error.
BLOCKED_BY_THE_POLICY = ("csp", "net::ERR_BLOCKED_BY_CSP")


def test_a_lab_page_load_asks_nothing_from_outside_the_cluster(page: Page):
    requests: list[Request] = []

    def keep(request: Request) -> None:  # Playwright cannot take a builtin method as a handler
        requests.append(request)

    page.on("request", keep)
    page.reload()
    expect(launcher_section(page, "Notebook").locator(".jp-LauncherCard").first).to_be_visible(timeout=120_000)
    expect(page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id^='HOME_']")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.remove_listener("request", keep)
    hub_origin = urlsplit(HUB)[:2]
    record = [{"method": request.method, "url": request.url, "failure": request.failure} for request in requests]
    (SCREENSHOTS / "lab-page-load-requests.json").write_text(json.dumps(record, indent=2) + "\n")
    # data: and blob: URLs never reach the network; a request the page's policy blocked
    # never left the browser.
    left_the_browser = [
        entry["url"]
        for entry in record
        if urlsplit(entry["url"]).scheme not in ("data", "blob")
        and urlsplit(entry["url"])[:2] != hub_origin
        and entry["failure"] not in BLOCKED_BY_THE_POLICY
    ]
    assert left_the_browser == []
    # tree-finder's icons (jupyter-fs) are drawn with a font the Lab now serves itself.
    icon_faces = page.evaluate("async () => (await document.fonts.load('16px \"Material Icons\"', 'folder')).length")
    assert icon_faces > 0


def test_dask_dashboard_entry_asks_for_the_port_and_opens_it_through_the_server(page: Page):
    launcher_section(page, "Dashboards").get_by_text("Dask dashboard", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("8790")
    screenshot(page, "05-dask-port-dialog")
    with page.context.expect_page() as opened:
        dialog.locator("button.jp-mod-accept").click()
    tab = opened.value
    assert tab.url == f"{HUB}/user/alice/{SERVER}/proxy/8790/status"
    # No cluster yet: the page says what to do, not "forbidden".
    expect(tab.locator("body")).to_contain_text("nothing listens on 127.0.0.1:8790 of this node yet")
    tab.close()


def test_tensorboard_from_the_launch_dialog_and_in_the_running_panel(page: Page):
    # What the Lmod panel does: load the module that provides TensorBoard.
    xsrf = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "_xsrf")
    loaded = page.request.post(
        f"{HUB}/user/alice/{SERVER}/module", data={"modules": ["tensorboard/2.21"]}, headers={"X-XSRFToken": xsrf}
    )
    assert loaded.ok, loaded.text()
    page.locator(".jp-LauncherCard", has_text="TensorBoard").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input[name=arguments]").fill("--logdir .")
    dialog.locator("select[name=endpoint]").select_option("1")
    screenshot(page, "05-launch-dialog")
    with page.context.expect_page() as opened:
        dialog.locator("button.jp-mod-accept").click()
    tab = opened.value
    tab.wait_for_url(re.compile(f"/user/alice/{SERVER}/tensorboard/1/"), timeout=90_000)
    expect(tab).to_have_title("TensorBoard", timeout=60_000)
    screenshot(tab, "05-tensorboard")
    tab.close()
    panel = open_sidebar_panel(page, "[data-id='jp-running-sessions']")
    expect(panel.get_by_text("TensorBoard (endpoint 1)")).to_be_visible(timeout=20_000)
    screenshot(page, "05-running-panel")
    open_sidebar_panel(page, "[data-id='filebrowser']")


def test_top_bar_shows_cpu_memory_with_the_job_limit_and_hub_items(page: Page):
    top_bar = page.locator("#jp-top-bar")
    expect(top_bar.get_by_text("Hub Control Panel")).to_be_visible()
    expect(top_bar.get_by_text("Log out")).to_be_visible()
    # The job asked for 1G: the indicator's maximum is the job's, not the node's 32 GB.
    expect(top_bar).to_contain_text(re.compile(r"Mem:\s*[\d.]+\s*/\s*(1\.00 GB|1024(\.00)? MB)"), timeout=30_000)
    expect(top_bar).to_contain_text(re.compile(r"CPU:\s*[\d.]+\s*%"))
    screenshot(page, "06-top-bar")


def test_jupyter_fs_lists_home_work_and_scratch_with_alices_files(page: Page):
    for name in ("HOME", "WORK", "SCRATCH"):
        # jupyter-fs names each panel <resource name>_<hash>.
        panel = open_sidebar_panel(page, f"[data-id^='{name}_']")
        expect(panel.get_by_text(f"in-{name}.txt")).to_be_visible()
        screenshot(page, f"07-jupyter-fs-{name}")


def test_lmod_panel_lists_the_demo_modules(page: Page):
    panel = open_sidebar_panel(page, "[data-id='module-jupyterlab']")
    for module in DEMO_MODULES:
        expect(panel.get_by_text(module, exact=True).first).to_be_visible()
    screenshot(page, "08-lmod")


def test_an_h5_file_opens_in_the_hdf5_viewer_with_its_datasets(page: Page, node):
    node("hub").check_output(
        as_user(
            "alice",
            '/cluster/software/jupyter/bin/python -c "import h5py, numpy; '
            "f = h5py.File('browser-test.h5', 'w'); f['temperature'] = numpy.arange(12.0); "
            "f.create_group('run1')['pressure'] = numpy.ones((3, 4)); f.close()\"",
        )
    )
    browser = open_sidebar_panel(page, "[data-id='filebrowser']")
    browser.locator(".jp-DirListing-item", has_text="browser-test.h5").dblclick()
    viewer = page.locator(".jp-MainAreaWidget", has_text="temperature")
    expect(viewer.first).to_be_visible()
    expect(page.get_by_text("run1").first).to_be_visible()
    screenshot(page, "09-hdf5")


def test_log_out_ends_the_session_and_cancels_the_job(page: Page, node):
    job = node("hub").check_output(f"squeue --noheader --user=alice --name=jupyterhub-{SERVER} --format=%i")
    assert job, "the browser's server has no job"
    page.goto(LAB)
    page.locator("#jp-top-bar").get_by_text("Log out").click()
    page.wait_for_url(re.compile(r"/hub/(login|logout)"), timeout=120_000)
    screenshot(page, "10-logged-out")
    assert node("hub").check_output(f"squeue --noheader --job={job}") == ""
    page.goto(LAB)
    page.wait_for_url(re.compile(r"/hub/login"))
