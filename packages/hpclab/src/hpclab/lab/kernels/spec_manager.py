"""The kernel spec manager of users' servers: the environment's own kernels, the user's
(~/.local/share/jupyter/kernels), and those of the site's environment modules.

Module kernels come from the module index (the site's file, written by the
hpclab-module-index timer, or this server's own scan of MODULEPATH when there is none),
kept in memory and refreshed in the background once older than the TTL: listing kernels
never runs Lmod, and a module that admins add or remove shows up or goes within the TTL.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from traitlets import Float, List, Unicode, default

from .jupyter_client_adapter import stock_kernel_spec
from .module_index import INDEX_FORMAT, default_spider, index_module_tree, modulepath_of
from .module_specs import ModuleKernel, module_kernels
from .refreshing_value import RefreshingValue


@dataclass(frozen=True)
class ModuleCatalogue:
    """Module kernels, and their entries of get_all_specs() made once per refresh."""

    kernels: dict[str, ModuleKernel]
    listing: dict[str, dict[str, Any]]


EMPTY_CATALOGUE = ModuleCatalogue({}, {})


def read_index(path: Path) -> dict[str, list[str]]:
    index = json.loads(path.read_text())
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT or not isinstance(index.get("modules"), dict):
        raise ValueError(f"{path} is not a module index of format {INDEX_FORMAT}")
    return index["modules"]


class HpclabKernelSpecManager(KernelSpecManager):
    module_index_file = Unicode(
        "", config=True, help="Site-wide module index (hpclab-module-index); empty or missing: scan MODULEPATH"
    )
    module_kernels_ttl = Float(900, config=True, help="Seconds module kernels are kept before a background refresh")
    module_kernel_launcher = List(Unicode(), config=True, help="Command that loads a module, then runs a kernel")

    @default("module_kernel_launcher")
    def _default_launcher(self) -> list[str]:
        return [str(Path(sys.executable).parent / "hpclab-module-kernel")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        initial, fresh = self._first_module_kernels()
        self._module_kernels = RefreshingValue(
            self._load_module_kernels,
            initial,
            fresh,
            self.module_kernels_ttl,
            on_error=lambda error: self.log.warning("Module kernels not refreshed: %s", error),
        )
        self._module_kernels.get()

    def _index_path(self) -> Path | None:
        path = Path(self.module_index_file) if self.module_index_file else None
        return path if path and path.is_file() else None

    def _first_module_kernels(self) -> tuple[ModuleCatalogue, bool]:
        """Read the site index at once (a file read); a scan of our own goes to the background."""
        path = self._index_path()
        if path is None:
            return EMPTY_CATALOGUE, False
        try:
            return self._catalogue_of(read_index(path)), True
        except (OSError, ValueError) as error:
            self.log.warning("Module index %s unreadable: %s", path, error)
            return EMPTY_CATALOGUE, False

    def _load_module_kernels(self) -> ModuleCatalogue:
        path = self._index_path()
        if path is not None:
            return self._catalogue_of(read_index(path))
        return self._catalogue_of(index_module_tree(modulepath_of(os.environ), default_spider(os.environ))["modules"])

    def _catalogue_of(self, modules: dict[str, list[str]]) -> ModuleCatalogue:
        kernels = module_kernels(modules, self.module_kernel_launcher, self.log.warning)
        listing = {
            name: {"resource_dir": kernel.resource_dir, "spec": self._spec_of(kernel).to_dict()}
            for name, kernel in kernels.items()
        }
        return ModuleCatalogue(kernels, listing)

    def _spec_of(self, kernel: ModuleKernel) -> KernelSpec:
        return self.kernel_spec_class(resource_dir=kernel.resource_dir, **kernel.spec)

    # Module kernels own the "lmod." names (see module_specs.kernel_name): they win.

    def find_kernel_specs(self) -> dict[str, str]:
        specs = super().find_kernel_specs()
        specs.update({name: kernel.resource_dir for name, kernel in self._module_kernels.get().kernels.items()})
        return specs

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        kernel = self._module_kernels.get().kernels.get(kernel_name)
        return super().get_kernel_spec(kernel_name) if kernel is None else self._spec_of(kernel)

    def get_all_specs(self) -> dict[str, Any]:
        """The listing JupyterLab asks for: the own and user kernels read as the stock
        manager reads them, the module kernels as prepared at the last refresh."""
        module_listing = self._module_kernels.get().listing
        own = {}
        for name, resource_dir in super().find_kernel_specs().items():
            if name in module_listing:
                continue
            try:
                spec = stock_kernel_spec(self, name, resource_dir)
                own[name] = {"resource_dir": resource_dir, "spec": spec.to_dict()}
            except NoSuchKernel:
                continue
            except Exception:
                self.log.warning("Error loading kernelspec %r", name, exc_info=True)
        return {**own, **module_listing}
