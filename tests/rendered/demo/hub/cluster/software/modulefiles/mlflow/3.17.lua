-- Ansible managed
help("MLflow tracking server and client, for the Applications launcher of JupyterLab.")
whatis("MLflow 3.17")
prepend_path("PATH", "/cluster/software/envs/mlflow-3.17/bin")
setenv("MLFLOW_ALLOW_FILE_STORE", "true")
