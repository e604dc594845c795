"""A kernel that only reports why the real one could not start (see module_kernel)."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from ipykernel.kernelapp import IPKernelApp
from ipykernel.kernelbase import Kernel


class StartupErrorKernel(Kernel):
    implementation = "hpclab-startup-error"
    implementation_version = "1"
    language_info: ClassVar[dict[str, str]] = {"name": "text", "mimetype": "text/plain", "file_extension": ".txt"}
    banner = "This kernel could not start."
    message = ""

    async def do_execute(self, code: str, silent: bool, *args: Any, **kwargs: Any) -> dict[str, Any]:
        error = {"ename": "KernelStartupError", "evalue": self.message, "traceback": self.message.splitlines()}
        if not silent:
            # The notebook shows this under the cell.
            self.send_response(self.iopub_socket, "error", error)
        return {"status": "error", "execution_count": self.execution_count, **error}


def main() -> None:
    *kernel_arguments, message = sys.argv[1:]
    StartupErrorKernel.message = message
    IPKernelApp.launch_instance(argv=kernel_arguments, kernel_class=StartupErrorKernel)


if __name__ == "__main__":
    main()
