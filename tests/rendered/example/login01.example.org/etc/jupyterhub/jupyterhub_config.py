# Ansible managed
# Settings live in jupyterhub_config.json beside this file (rendered from Ansible
# variables); only what needs Python is here.
from hpclab.hub import TEMPLATES_DIR
from hpclab.hub.home_page import stopped_server_summary

c = get_config()  # noqa: F821 (provided by JupyterHub)
# hpclab's home page lists each server's kind, Slurm job, node and time left.
c.JupyterHub.template_paths = [TEMPLATES_DIR]
# A stopped server's row, when JupyterHub no longer holds its spawner: from its saved state.
# JupyterHub calls a callable template variable with the page's user: this one gives the function.
c.JupyterHub.template_vars = {"stopped_server_summary": lambda user: stopped_server_summary}
