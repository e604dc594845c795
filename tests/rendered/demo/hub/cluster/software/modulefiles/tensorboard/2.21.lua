-- Ansible managed
help("TensorBoard, for the Applications launcher of JupyterLab.")
whatis("TensorBoard 2.21")
prepend_path("PATH", "/cluster/software/envs/tensorboard-2.21/bin")
