-- Ansible managed
help("Ray, with a Jupyter kernel; a head started by ray.init() serves its dashboard on 8265.")
whatis("Ray 2.60 with its dashboard")
prepend_path("PATH", "/cluster/software/envs/ray-2.60/bin")
