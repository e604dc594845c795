"""Logging out stops every server of the user and cancels their Slurm jobs.

JupyterHub's shutdown_on_logout skips servers still pending: a job waiting in the
queue would start later for nobody. Here pending spawns are interrupted too, then a
last sweep cancels any server job of the user that Slurm still knows.

Because it cancels work, logging out must come from the user's own pages: a GET counts
only when the browser says it is a page navigation (not an image or a frame) made by a
page of the hub's own origin, or typed by the user (Sec-Fetch-*); a link, image or meta
refresh on another site, or a client that does not say, gets a page whose button POSTs
with the XSRF token.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyterhub.auth import PAMAuthenticator
from jupyterhub.handlers.login import LogoutHandler

from .commands import CommandError
from .jupyterhub_adapter import server_label, spawn_future
from .node_report import ROUTE as NODE_REPORT_ROUTE
from .node_report import NodeReportHandler
from .session_api import EXTEND_ROUTE, SESSION_ROUTE, ExtendHandler, SessionHandler
from .token_handover import ROUTE as TOKEN_HANDOVER_ROUTE
from .token_handover import ServerTokenHandler

# Sec-Fetch-Site values a browser gives only to the user's own navigations.
OWN_NAVIGATIONS = frozenset({"same-origin", "none"})


class StopEverythingLogoutHandler(LogoutHandler):
    async def get(self) -> None:
        headers = self.request.headers
        own_navigation = (
            headers.get("Sec-Fetch-Site") in OWN_NAVIGATIONS
            and headers.get("Sec-Fetch-Mode") == "navigate"
            and headers.get("Sec-Fetch-Dest") == "document"
        )
        if self.current_user is not None and not own_navigation:
            self.finish(await self.render_template("logout_confirm.html"))
            return
        await super().get()

    async def post(self) -> None:
        # JupyterHub has checked the XSRF token of this POST before it gets here.
        await super().get()

    async def handle_logout(self) -> None:
        user = self.current_user
        if user is None:
            return
        await asyncio.gather(*(self._stop(user, name, spawner) for name, spawner in list(user.spawners.items())))
        cancel_user_jobs = getattr(user.spawner, "cancel_user_jobs", None)
        if cancel_user_jobs is not None:
            try:
                cancelled = await cancel_user_jobs()
            except CommandError as error:
                self.log.error("Logout of %s: could not cancel their jobs: %s", user.name, error)
            else:
                if cancelled:
                    self.log.info("Logout of %s cancelled Slurm jobs %s", user.name, ", ".join(cancelled))

    async def _stop(self, user: Any, server_name: str, spawner: Any) -> None:
        if spawner.pending == "spawn" and (start := spawn_future(spawner)) is not None:
            # As the REST API does for DELETE on a pending server; its job, if still
            # queued after this, is cancelled with the user's other server jobs below.
            self.log.info("Logout of %s: interrupting the start of %s", user.name, server_label(spawner))
            start.cancel()
            await asyncio.sleep(1)
        if spawner.active and not spawner.pending:
            self.log.info("Logout of %s: stopping %s", user.name, server_label(spawner))
            await self.stop_single_user(user, server_name)


class HpclabPAMAuthenticator(PAMAuthenticator):
    """PAM login, with the logout above, the checked node report on batchspawner's route
    (authenticator routes come before the hub's own), the token handover of SLURM
    servers, a running server's session (session_api.py), and the start of the
    spawner's hub-wide services (hub_services.py)."""

    def get_handlers(self, app: Any) -> list[tuple[str, Any]]:
        # The hub's one call into its authenticator once its configuration is loaded.
        start_hub_services = getattr(app.spawner_class, "start_hub_services", None)
        if start_hub_services is not None:
            start_hub_services(app.config)
        return [
            *super().get_handlers(app),
            ("/logout", StopEverythingLogoutHandler),
            (NODE_REPORT_ROUTE, NodeReportHandler),
            (TOKEN_HANDOVER_ROUTE, ServerTokenHandler),
            (SESSION_ROUTE, SessionHandler),
            (EXTEND_ROUTE, ExtendHandler),
        ]
