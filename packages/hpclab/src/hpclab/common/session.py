"""What the hub and a server agree on about a server's session: how a SLURM server learns
that its time limit is near, and the variables and route of the session's state.

The hub submits jobs with ``--signal=B:USR1@TIME_LIMIT_SIGNAL_LEAD_S`` (Slurm may send it
up to 60 s earlier, sbatch(1)); the server then saves nothing itself (the Lab saved the
open documents at two minutes) and stops STOP_BEFORE_END_S before the end, so that its
kernels shut down cleanly before Slurm's kill. The hub calls a job that completed within
TIME_LIMIT_NOTICE_S of its limit one that reached it.
"""

from __future__ import annotations

TIME_LIMIT_SIGNAL = "USR1"
TIME_LIMIT_SIGNAL_LEAD_S = 90
STOP_BEFORE_END_S = 40
TIME_LIMIT_NOTICE_S = TIME_LIMIT_SIGNAL_LEAD_S + 60 + 30

# Why an Interactive server offers no '+1 h', in the hub's answers and the Lab's.
NO_TIME_LIMIT = "an Interactive server has no time limit"

# Seconds of inactivity after which the hub's culler stops this server (0: never).
IDLE_TIMEOUT_VARIABLE = "HPCLAB_IDLE_TIMEOUT"
# The hub's API (under JUPYTERHUB_API_URL) a server calls with its own token.
SESSION_PATH = "/hpclab/session"
EXTEND_PATH = "/hpclab/session/extend"
