"""Hub side: runs inside the JupyterHub process (never imported by hpclab.lab)."""

from pathlib import Path

TEMPLATES_DIR = str(Path(__file__).parent / "templates")
