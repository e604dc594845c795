# Ansible managed
# Settings live in jupyterhub_config.json beside this file (rendered from Ansible
# variables); only what needs Python is here.
from hpclab.hub import TEMPLATES_DIR

c = get_config()  # noqa: F821 (provided by JupyterHub)
# hpclab's home page lists each server's kind, Slurm job, node and time left.
c.JupyterHub.template_paths = [TEMPLATES_DIR]
