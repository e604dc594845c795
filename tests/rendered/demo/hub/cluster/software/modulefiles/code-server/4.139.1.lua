-- Ansible managed
help("code-server, for the Applications launcher of JupyterLab (one endpoint).")
whatis("code-server 4.139.1, VS Code in the browser")
prepend_path("PATH", "/cluster/software/code-server/4.139.1/bin")
