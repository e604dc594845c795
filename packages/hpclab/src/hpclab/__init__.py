"""hpclab: the Python side of the bundle.

It runs in two places that never import each other: ``hpclab.hub`` in the JupyterHub
process (spawners, the spawn form, polling, logout) and ``hpclab.lab`` in each user's
JupyterLab server (power, kernels, applications, sandbox). What both need lives in
``hpclab.common`` and stays small and pure. See docs/architecture.md.
"""

__version__ = "0.1.0"
