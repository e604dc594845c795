-- Ansible managed
help("Python 3.11 environment with a Jupyter kernel.")
whatis("Python 3.11 with ipykernel")
prepend_path("PATH", "/cluster/software/envs/python-3.11-base/bin")
setenv("VIRTUAL_ENV", "/cluster/software/envs/python-3.11-base")
