-- Ansible managed
help("Dask and dask.distributed, with a Jupyter kernel; the dashboard listens on 8787.")
whatis("Dask 2026.8 with its distributed scheduler and dashboard")
prepend_path("PATH", "/cluster/software/envs/dask-2026.8/bin")
