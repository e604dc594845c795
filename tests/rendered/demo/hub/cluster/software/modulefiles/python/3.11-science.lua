-- Ansible managed
help("Python 3.11 environment for data work (h5py), with a Jupyter kernel.")
whatis("Python 3.11 with ipykernel and h5py")
prepend_path("PATH", "/cluster/software/envs/python-3.11-science/bin")
setenv("VIRTUAL_ENV", "/cluster/software/envs/python-3.11-science")
