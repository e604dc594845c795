-- Ansible managed
help("Sets DEMO_PROJECT and DEMO_PROJECT_DATA; loads no software.")
whatis("Variables of the demo project")
setenv("DEMO_PROJECT", "demoproj")
setenv("DEMO_PROJECT_DATA", "/cluster/work/demoproj-data")
