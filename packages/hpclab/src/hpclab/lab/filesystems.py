"""The contents manager of users' servers: jupyter-fs's, with osfs:// URLs typed right."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jupyterfs.metamanager import MetaManager

from .fs_resources import with_backend_type


class HpclabMetaManager(MetaManager):  # type: ignore[misc]
    def initResource(  # jupyter-fs names it
        self, *resources: Mapping[str, Any], options: Mapping[str, Any] | None = None
    ) -> Any:
        return super().initResource(*map(with_backend_type, resources), options=options or {})
