"""Helpers of the browser tests (the browser fixture is in conftest): screenshots kept in
artifacts/browser/, and the hub's login form."""

from __future__ import annotations

import re

from playwright.sync_api import Page

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
