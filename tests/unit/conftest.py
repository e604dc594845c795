"""Makes the roles' Ansible plugins importable as plain modules."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "roles" / "slurm" / "filter_plugins"))
sys.path.insert(0, str(ROOT / "roles" / "hpclab" / "filter_plugins"))
