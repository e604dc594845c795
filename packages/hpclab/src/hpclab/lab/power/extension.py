"""Server extension of the power indicators: the sampler's thread and GET /hpclab/api/power
(which only reads what the sampler last computed)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Float, Unicode
from traitlets.config import Configurable

from hpclab.common.spawner_logs import DEFAULT_SERVER_LABEL

from ..jupyter_server_adapter import PolledRoute
from . import cpu_time, gpus
from .emission_factor import ODRE_RECORDS, EmissionFactorSource, Plausible
from .rapl import POWERCAP, find_packages
from .sampler import PowerSampler


class HpclabPower(Configurable):
    period = Float(5.0, config=True, help="Seconds between samples")
    powercap = Unicode(str(POWERCAP), config=True, help="Where the RAPL zones are")
    factor_url = Unicode(ODRE_RECORDS, config=True, help="Records API of the real-time emission factor")
    factor_zone_filter = Unicode("", config=True, help="Extra ODSQL condition selecting a zone of the dataset")
    factor_refresh = Float(1800.0, config=True, help="Seconds between fetches of the emission factor")
    node_factor_file = Unicode(
        "/var/cache/hpclab-emission-factor/factor.json",
        config=True,
        help="The factor fetched once for the node (hpclab-emission-factor timer); a server fetches only without it",
    )
    factor_max_age = Float(3 * 3600.0, config=True, help="Past this age, the static factor is used")
    factor_low = Float(Plausible.low, config=True, help="Lowest plausible gCO2eq/kWh")
    factor_high = Float(Plausible.high, config=True, help="Highest plausible gCO2eq/kWh")
    factor_row_max_age = Float(Plausible.max_age_s, config=True, help="Seconds before a row of the API is stale")
    static_factor = Float(50.0, config=True, help="gCO2eq/kWh used when no real-time value is recent")
    static_factor_source = Unicode(
        "hpclab default (set the site's static factor and its source)", config=True, help="Where it comes from"
    )
    totals_dir = Unicode("", config=True, help="Where cumulative energy and CO2 are kept (default ~/.local/share)")
    package_ceiling_w = Float(
        500.0,
        config=True,
        help="The most a CPU package without RAPL limits (AMD) can draw: readings above it are counter jumps",
    )
    package_idle_w = Float(
        0.0,
        config=True,
        help="A CPU package's idle power, until the server has seen the node idle (0: unknown)",
    )


class PowerHandler(PolledRoute):
    def initialize(self, sampler: PowerSampler) -> None:
        self.sampler = sampler

    @web.authenticated
    def get(self) -> None:
        self.finish(self.sampler.state())


def _allocated_share(cgroup: dict[str, str] | None) -> Any:
    """The server's share of the node's idle power, read at each sample (users come and go)."""
    environment = dict(os.environ)
    units = None
    if cgroup is not None and not environment.get("SLURM_JOB_ID"):
        # An Interactive server: its unit's siblings are the login node's other servers.
        controller, path = next(iter(cgroup.items()))
        units = (cpu_time.CGROUP_ROOT / controller.removeprefix("name=") / path.lstrip("/")).parent
    return lambda: cpu_time.allocated_share(environment, os.cpu_count() or 1, units)


def _load_jupyter_server_extension(serverapp: Any) -> None:
    config = HpclabPower(parent=serverapp)
    server = os.environ.get("JUPYTERHUB_SERVER_NAME") or DEFAULT_SERVER_LABEL
    totals_dir = Path(config.totals_dir or Path.home() / ".local" / "share" / "hpclab" / "power")
    factors = EmissionFactorSource(
        config.factor_url,
        config.static_factor,
        config.static_factor_source,
        config.factor_max_age,
        time.monotonic,
        zone_filter=config.factor_zone_filter,
        node_file=Path(config.node_factor_file) if config.node_factor_file else None,
        node_file_max_age=2 * config.factor_refresh,
        plausible=Plausible(config.factor_low, config.factor_high, config.factor_row_max_age),
    )
    cgroup = cpu_time.own_cgroup(cpu_time.cgroup_of(os.getpid()), dict(os.environ))
    sampler = PowerSampler(
        packages=lambda: find_packages(Path(config.powercap)),
        node_cpu=cpu_time.node_cpu_seconds,
        own_cpu=cpu_time.own_cpu_reader(cgroup, os.getpid()),
        allocated_share=_allocated_share(cgroup),
        gpus=gpus.job_gpu_reader(gpus.job_gpu_power),
        factors=factors,
        totals_file=totals_dir / f"{server}.json",
        package_ceiling_w=config.package_ceiling_w,
        package_idle_w=config.package_idle_w,
    )
    stop = threading.Event()
    threading.Thread(target=sampler.run_forever, args=(config.period, stop), name="hpclab-power", daemon=True).start()
    threading.Thread(
        target=factors.run_forever, args=(config.factor_refresh, stop), name="hpclab-emission-factor", daemon=True
    ).start()
    route = url_path_join(serverapp.web_app.settings["base_url"], r"/hpclab/api/power")
    serverapp.web_app.add_handlers(".*", [(route, PowerHandler, {"sampler": sampler})])
