"""Helpers of the browser tests (the browser fixture is in conftest): screenshots kept in
artifacts/browser/, and the hub's login form."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page

from conftest import HUB_PORT, REPO, password

HUB = f"https://127.0.0.1:{HUB_PORT}"
SCREENSHOTS = REPO / "artifacts" / "browser"


def screenshot(page: Page, step: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{step}.png")


def log_in(page: Page, user: str, step: str = "") -> None:
    page.goto(f"{HUB}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password(user))
    if step:
        screenshot(page, step)
    page.click("#login_submit")
    page.wait_for_url(re.compile(r"/hub/(home|spawn)"))


def open_sidebar_panel(page: Page, tab_selector: str) -> Locator:
    """Show a left sidebar panel and return it; clicking the tab of the panel already
    shown would hide it."""
    tab = page.locator(f".jp-SideBar.jp-mod-left .lm-TabBar-tab{tab_selector}")
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    return page.locator(f"[id='{tab.get_attribute('data-id')}']")
