"""The users' JupyterLab environment in a running SLURM server, over HTTPS as alice:
extensions, jupyter-fs file systems, the Slurm job manager."""

from __future__ import annotations

import json
import re
import shlex
import time
import uuid

import pytest

from conftest import as_user
from hubclient import LabKernel

JUPYTER_BIN = "/cluster/software/jupyter/bin"
SERVER = "labenv"
SERVER_PATH = f"/user/alice/{SERVER}"

LAB_EXTENSIONS = (
    "@hpclab/lab-extension",
    "@jupyter-server/resource-usage",
    "@jupyterhub/jupyter-server-proxy",
    "@jupyterlab/git",
    "@cmd-ntrf/jupyterlab-lmod",
    "jupyterlab-slurm",
    "jupyterlab-h5web",
    "jupyter-fs",
    "@voila-dashboards/jupyterlab-preview",
    "dask-labextension",
)
SERVER_EXTENSIONS = (
    "jupyter_server_proxy",
    "jupyter_resource_usage",
    "jupyterlab_git",
    "jupyterlmod",
    "jupyterlab_slurm",
    "jupyterlab_h5web",
    "jupyterfs.extension",
    "voila.server_extension",
    "dask_labextension",
)
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
# The first path segments of the routes of a server loaded as users' servers load (the
# environment's configuration and extensions), and the app names hpclab refuses.
ROUTE_SEGMENTS = """
import json, re
from jupyter_server.serverapp import ServerApp
from hpclab.lab.apps.catalogue import RESERVED_NAMES
app = ServerApp()
app.initialize(argv=["--ServerApp.base_url=/user/x/", "--ServerApp.port=0", "--ServerApp.open_browser=False"])
segments = set()
def walk(rules):
    for rule in rules:
        if hasattr(rule.target, "rules"):
            walk(rule.target.rules)
        elif (regex := getattr(rule.matcher, "regex", None)) is not None:
            if found := re.match(r"/user/x/([A-Za-z0-9_-]+)(?:/|\\$|$)", regex.pattern):
                segments.add(found.group(1))
walk(app.web_app.default_router.rules)
print(json.dumps({"segments": sorted(segments), "reserved": sorted(RESERVED_NAMES)}))
"""


@pytest.fixture(scope="module")
def lab(alice):
    options = {"kind": "slurm", "partition": "cpu", "time": "00:30:00", "cpus": "1", "memory": "1G"}
    response = alice.start(SERVER, options)
    assert response.status_code in (201, 202), response.text
    alice.wait_ready(SERVER)
    # The first request goes through the hub's OAuth redirects and sets the server's cookies.
    assert alice.http.get(alice.url(f"{SERVER_PATH}/lab"), timeout=60).status_code == 200
    yield alice
    alice.stop(SERVER)


def extension_lines(listing: str, names: tuple[str, ...]) -> dict[str, list[str]]:
    """The lines of `jupyter ... extension list` about each extension, colours removed."""
    lines: dict[str, list[str]] = {}
    for line in ANSI_COLOUR.sub("", listing).splitlines():
        words = line.split()
        if words and words[0] in names:
            lines.setdefault(words[0], []).append(line)
    return lines


@pytest.mark.parametrize("host", ["hub", "cn1"])
def test_every_extension_is_installed_enabled_and_ok(node, host):
    labextensions = node(host).check_output(as_user("alice", f"{JUPYTER_BIN}/jupyter labextension list 2>&1"))
    found = extension_lines(labextensions, LAB_EXTENSIONS)
    assert set(found) == set(LAB_EXTENSIONS), labextensions
    for [line] in found.values():
        assert "enabled" in line, line
        assert "OK" in line, line
    assert " X" not in labextensions, labextensions
    assert "disabled" not in labextensions, labextensions
    server_extensions = node(host).check_output(as_user("alice", f"{JUPYTER_BIN}/jupyter server extension list 2>&1"))
    found = extension_lines(server_extensions, SERVER_EXTENSIONS)
    assert set(found) == set(SERVER_EXTENSIONS), server_extensions
    for name, lines in found.items():
        # "NAME enabled", then "NAME VERSION OK" once it has been imported and checked.
        assert any(line.split()[1:] == ["enabled"] for line in lines), lines
        assert any(line.split()[-1] == "OK" for line in lines), (name, lines)


def test_no_app_name_can_take_a_route_of_the_lab(node):
    """Apps are served at <server>/<app>/<endpoint>/: every route of the Lab's server and
    extensions must be a name the app catalogue refuses."""
    script = f"cd /tmp && {JUPYTER_BIN}/python -c {shlex.quote(ROUTE_SEGMENTS)} 2>/dev/null"
    answer = node("hub").check_output(as_user("alice", script))
    routes = json.loads(answer.splitlines()[-1])
    assert {"lab", "api"} <= set(routes["segments"]), routes
    assert set(routes["segments"]) - set(routes["reserved"]) == set()


def drive_of(resources: list[dict], name: str) -> str:
    [resource] = [resource for resource in resources if resource["name"] == name]
    assert resource["init"], resource
    return resource["drive"]


def test_home_work_and_scratch_are_alices_own_file_systems(lab, node):
    marker = f"jupyterfs-{uuid.uuid4().hex[:8]}.txt"
    node("hub").check_output(as_user("alice", f'touch "$HOME/{marker}" "$WORK/{marker}" "$SCRATCH/{marker}"'))
    resources = lab.server_request("GET", SERVER_PATH, "/jupyterfs/resources").json()
    for name in ("HOME", "WORK", "SCRATCH"):
        listing = lab.server_request("GET", SERVER_PATH, f"/api/contents/{drive_of(resources, name)}:").json()
        assert marker in [entry["name"] for entry in listing["content"]], name


def test_a_user_adds_an_osfs_file_system_as_the_settings_editor_does(lab, node):
    node("hub").check_output(as_user("alice", "mkdir -p $WORK/project-b && echo b > $WORK/project-b/notes.txt"))
    added = {"name": "project-b WORK", "url": "osfs:///cluster/work/alice/project-b", "type": "fsspec", "auth": "ask"}
    # The Settings editor stores the resource, then the jupyter-fs front end posts the list.
    settings = lab.server_request(
        "PUT", SERVER_PATH, "/lab/api/settings/jupyter-fs:plugin", json={"raw": json.dumps({"resources": [added]})}
    )
    assert settings.status_code == 204, settings.text
    resources = lab.server_request(
        "POST", SERVER_PATH, "/jupyterfs/resources", json={"resources": [added], "options": {"_addServerside": True}}
    ).json()
    listing = lab.server_request("GET", SERVER_PATH, f"/api/contents/{drive_of(resources, 'project-b WORK')}:").json()
    assert [entry["name"] for entry in listing["content"]] == ["notes.txt"]
    assert {"HOME", "WORK", "SCRATCH"} <= {resource["name"] for resource in resources}


def job_rows(lab) -> list[dict[str, str]]:
    answer = lab.server_request("GET", SERVER_PATH, "/jupyterlab_slurm/squeue").json()
    assert answer["success"], answer
    columns = answer["data"]["columns"]
    return [dict(zip(columns, row, strict=False)) for row in answer["data"]["rows"]]


def test_slurm_job_manager_lists_submits_and_cancels_alices_jobs(lab, node):
    assert "jupyterhub-labenv" in [row["NAME"] for row in job_rows(lab)]
    script = "#!/bin/bash\\n#SBATCH --job-name=from-lab\\n#SBATCH --output=/dev/null\\nsleep 600\\n"
    node("hub").check_output(as_user("alice", f"printf '{script}' > $HOME/from-lab.sh"))
    submitted = lab.server_request(
        "POST", SERVER_PATH, "/jupyterlab_slurm/sbatch", json={"inputPath": "from-lab.sh"}
    ).json()
    assert submitted["success"], submitted
    [job] = [row for row in job_rows(lab) if row["NAME"] == "from-lab"]
    assert job["USER"] == "alice"
    cancelled = lab.server_request(
        "DELETE", SERVER_PATH, "/jupyterlab_slurm/scancel", json={"job_ids": [job["JOBID"]]}
    ).json()
    assert cancelled["success"], cancelled
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and node("hub").check_output(f"squeue --noheader --job={job['JOBID']}"):
        time.sleep(1)
    assert node("hub").check_output(f"squeue --noheader --job={job['JOBID']}") == ""


def test_lmod_panel_loads_a_module_that_new_kernels_then_see(lab):
    # What the Lmod panel does when alice clicks a module: load it into the server.
    available = lab.server_request("GET", SERVER_PATH, "/module/modules").json()
    assert "demo-project/1.0" in str(available), available
    loaded = lab.server_request("POST", SERVER_PATH, "/module", json={"modules": ["demo-project/1.0"]})
    assert loaded.status_code == 200, loaded.text
    assert "demo-project/1.0" in str(lab.server_request("GET", SERVER_PATH, "/module").json())
    kernel = LabKernel(lab, SERVER_PATH)
    try:
        stdout, errors = kernel.execute("import os; print(os.environ.get('DEMO_PROJECT'))")
    finally:
        kernel.close()
    assert (stdout.strip(), errors) == ("demoproj", "")
