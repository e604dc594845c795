"""The home page's row of a stopped server JupyterHub holds no spawner for."""

from hpclab.hub.home_page import stopped_server_summary


def test_a_stopped_servers_row_comes_from_its_saved_state():
    slurm = {"kind": "slurm", "job_id": "", "end_reason": "Slurm job 7 ended: time limit reached (00:04:00)",
             "resources": {"account": "astro", "cpus": "2"}}  # fmt: skip
    assert stopped_server_summary(slurm) == {
        "account": "astro",
        "cpus": "2",
        "kind": "SLURM",
        "end_reason": "Slurm job 7 ended: time limit reached (00:04:00)",
    }
    idle = {"kind": "interactive", "idle_stop": "Stopped as idle: ...", "end_reason": "older"}
    assert stopped_server_summary(idle)["end_reason"] == "Stopped as idle: ..."
    assert stopped_server_summary(None) == {"kind": "", "end_reason": ""}
    assert stopped_server_summary({"kind": "other", "resources": "not a mapping"}) == {"kind": "", "end_reason": ""}
