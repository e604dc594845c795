"""Module kernel discovery, measured on generated module trees (make bench-kernels).

For trees of 100 and 1,000 modules (one environment with one kernel each), prints the time
Lmod's spider takes to index the tree (the timer's job, off the request path), the first
kernel listing of a new server (reading the index and every kernel.json), the cached
listing, and, for comparison, the listing of the environment's own kernels alone by
jupyter_client's stock KernelSpecManager.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "packages/hpclab/src"), str(REPO / "packages/hpclab/tests")]

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402

from hpclab.lab.kernels.module_index import index_module_tree, write_index  # noqa: E402
from hpclab.lab.kernels.spec_manager import HpclabKernelSpecManager  # noqa: E402
from module_trees import SPIDER, add_env_module, generate_tree, kernel_json  # noqa: E402


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_ms(action: Callable[[], object], repeat: int) -> float:
    return statistics.median(timed(action) for _ in range(repeat)) * 1000


def measure(modules: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        modulepath = [str(generate_tree(root, modules))]
        own = root / "own-kernels"
        add_env_module(root / "own", "env/1.0", {"python3": kernel_json("Python 3")})
        own_kernels = str(root / "own/envs/env-1.0/share/jupyter/kernels")
        index_file = root / "index.json"
        index: dict = {}
        spider_s = timed(lambda: index.update(index_module_tree(modulepath, SPIDER)))
        write_index(index, index_file)

        def new_manager() -> HpclabKernelSpecManager:
            return HpclabKernelSpecManager(
                kernel_dirs=[own_kernels], ensure_native_kernel=False, module_index_file=str(index_file)
            )

        cold_ms = median_ms(lambda: new_manager().get_all_specs(), max(3, repeat // 10))
        manager = new_manager()
        listed = len(manager.get_all_specs())
        cached_ms = median_ms(manager.get_all_specs, repeat)
        stock = KernelSpecManager(kernel_dirs=[own_kernels], ensure_native_kernel=False)
        stock_ms = median_ms(stock.get_all_specs, repeat)
        assert not own.exists()
        return {
            "spider_s": spider_s,
            "cold_ms": cold_ms,
            "cached_ms": cached_ms,
            "stock_ms": stock_ms,
            "listed": listed,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    print(f"{'modules':>8} {'kernels':>8} {'spider index':>13} {'first listing':>14} {'cached':>9} {'own only':>9}")
    for modules in args.modules:
        figures = measure(modules, args.repeat)
        print(
            f"{modules:>8} {figures['listed']:>8} {figures['spider_s']:>11.2f} s {figures['cold_ms']:>11.1f} ms"
            f" {figures['cached_ms']:>6.2f} ms {figures['stock_ms']:>6.2f} ms"
        )


if __name__ == "__main__":
    main()
