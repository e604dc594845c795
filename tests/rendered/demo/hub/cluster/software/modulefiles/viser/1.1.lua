-- Ansible managed
help("viser, which a Nerfstudio training serves its viewer with (port 7007 by default).")
whatis("viser 1.1, the viewer library of Nerfstudio")
prepend_path("PATH", "/cluster/software/envs/viser-1.1/bin")
