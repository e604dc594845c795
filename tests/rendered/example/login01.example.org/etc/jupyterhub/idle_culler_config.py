# Ansible managed
# jupyterhub-idle-culler's configuration: each server is stopped after the idle limit it
# started with (jupyterhub_idle_timeout_interactive or _slurm), which its saved state carries.
from hpclab.hub.idle_culling import cull_idle_server

c = get_config()  # noqa: F821 (provided by traitlets)
c.IdleCuller.cull_arbiter_hook = cull_idle_server
