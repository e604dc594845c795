"""Small programs standing in for sbatch, squeue, scancel, sinfo, scontrol and sudo, and
for the Interactive servers' root helper and systemctl, so that the hub's spawner runs
its real commands in-process (as batchspawner's own tests do with a dummy batch system).

Jobs live in one JSON file; the test moves them through Slurm's states. Output follows
the real commands' formats for the options the hub uses.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROGRAM = r"""
import fcntl, json, os, re, socket, subprocess, sys, time
STATE = STATE_FILE
FIELDS = {"i": "id", "T": "state", "r": "reason", "N": "node", "L": "left", "j": "name", "u": "user", "S": "start",
          "e": "end", "l": "limit", "P": "partition", "a": "account", "q": "qos", "v": "reservation"}
ALIVE = ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING")

def load():
    with open(STATE) as f:
        return json.load(f)

def save(state):
    with open(STATE + ".new", "w") as f:
        json.dump(state, f)
    os.replace(STATE + ".new", STATE)

def option(name, default=""):
    return next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith(f"--{name}=")), default)

lock = open(STATE + ".lock", "w")
fcntl.flock(lock, fcntl.LOCK_EX)
state = load()
state["calls"].append([os.path.basename(sys.argv[0]), *sys.argv[1:]])
program = os.path.basename(sys.argv[0])
if program == "sudo":
    args = [a for a in sys.argv[1:] if a not in ("-n", "-E")]
    user = args[1] if args[0] == "-u" else ""
    save(state)
    lock.close()
    os.environ["FAKE_SUDO_USER"] = user
    os.execv(args[2] if user else args[0], args[2:] if user else args)
if program == "sbatch" and "--test-only" in sys.argv:
    save(state)
    if state.get("test_only_refusal"):
        sys.exit(f"sbatch: error: {state['test_only_refusal']}")
    print(f"sbatch: Job {state['next_id']} to start at 2026-12-07T10:00:00 using 1 processors", file=sys.stderr)
elif program == "sbatch":
    script = sys.stdin.read()
    name = re.search(r"^#SBATCH --job-name=(\S+)", script, re.M).group(1)
    job = str(state["next_id"])
    state["next_id"] += 1
    state["jobs"][job] = {"id": job, "user": os.environ.get("FAKE_SUDO_USER", ""), "name": name,
                          "state": "PENDING", "reason": "Priority", "node": "", "left": "30:00", "start": "N/A",
                          "end": "N/A", "limit": "30:00", "partition": "cpu", "account": "", "qos": "normal",
                          "reservation": "(null)",
                          "script": script}
    if state.get("sbatch_answer_delay"):
        # A slurmctld that queued the job and is slow to confirm it.
        save(state)
        lock.close()
        time.sleep(state["sbatch_answer_delay"])
    print(job)
elif program == "squeue":
    wanted = option("jobs").split(",") if option("jobs") else None
    jobs = [j for j in state["jobs"].values() if (wanted is None or j["id"] in wanted)
            and (not option("user") or j["user"] == option("user"))
            and (option("states") == "all" or j["state"] in ALIVE) and not j.get("purged")]
    if wanted is not None and len(wanted) == 1 and not jobs:
        save(state)
        sys.exit("slurm_load_jobs error: Invalid job id specified")
    for j in jobs:
        print(re.sub(r"%(\w)", lambda m: j[FIELDS[m.group(1)]], option("format")))
elif program == "scancel":
    named = [j["id"] for j in state["jobs"].values() if option("name") and j["name"] == option("name")
             and j["user"] == option("user")]
    for job in [a for a in sys.argv[1:] if not a.startswith("--")] + named:
        if job in state["jobs"] and state["jobs"][job]["state"] in ALIVE:
            state["jobs"][job].update(state="CANCELLED", reason="None")
elif program == "sinfo":
    print("cpu|cpu*|1-00:00:00|4|8000|(null)")
elif program == "sacctmgr":
    # A cluster without slurmdbd (test_slurm_policy.py reads real answers).
    save(state)
    sys.exit("sacctmgr: error: Problem talking to the database: Connection refused")
elif program == "scontrol" and sys.argv[1:3] == ["show", "config"]:
    print("Configuration data as of 2026-12-07T10:00:00\nClusterName             = fake")
elif program == "scontrol" and sys.argv[-1] == "partition":
    print("PartitionName=cpu AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL Default=YES MaxTime=1-00:00:00")
elif program == "scontrol" and sys.argv[-1] == "reservation":
    print(state.get("reservations", "No reservations in the system"))
elif program == "scontrol" and sys.argv[1] == "update":
    fields = dict(a.split("=", 1) for a in sys.argv[2:])
    j = state["jobs"].get(fields["JobId"])
    if j is None or j["state"] != "RUNNING" or not os.environ.get("FAKE_OPERATOR"):
        save(state)
        sys.exit("Access/permission denied for job " + fields["JobId"] if j else "Invalid job id specified")
    j["limit"] = fields["TimeLimit"]
elif program == "scontrol":
    j = state["jobs"].get(sys.argv[-1])
    if j is None:
        save(state)
        sys.exit("slurm_load_jobs error: Invalid job id specified")
    print(f"JobId={j['id']} JobName={j['name']} JobState={j['state']} Reason={j['reason']}",
          f"ExitCode={j.get('exit', '0:0')} TimeLimit={j['limit']} Partition=cpu Account=(null) QOS=normal")
elif program == "hpclab-interactive":
    import pwd
    action, user, server = (sys.argv[1:] + [""])[:3]
    unit = f"{pwd.getpwnam(user).pw_uid}-{server}"
    if action == "start":
        port = int(json.loads(sys.stdin.read())["JUPYTERHUB_SERVICE_URL"].rsplit(":", 1)[1].split("/")[0])
        listener = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        state["units"][unit] = {"pid": listener.pid, "active": "active", "status": 0}
    elif action == "stop" and unit in state["units"]:
        os.kill(state["units"][unit]["pid"], 15)
        state["units"][unit].update(active="inactive")
elif program == "systemctl":
    uid, _, server = sys.argv[-1].removeprefix("hpclab-interactive-").removesuffix(".service").partition("-")
    unit = state["units"].get(f"{uid}-{server}")
    print(f"ActiveState={unit['active'] if unit else 'inactive'}")
    print(f"ExecMainStatus={unit['status'] if unit else 0}")
save(state)
"""

PROGRAMS = ("sbatch", "squeue", "scancel", "sinfo", "scontrol", "sacctmgr", "sudo", "hpclab-interactive", "systemctl")


@dataclass
class FakeSlurm:
    bin: Path
    state_file: Path

    def _state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def _update(self, change: Any) -> None:
        # Under the programs' lock: a change written between a program's read and its
        # save would be lost (a job left PENDING for ever).
        with open(f"{self.state_file}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._state()
            change(state)
            self.state_file.write_text(json.dumps(state))

    @property
    def jobs(self) -> dict[str, dict[str, str]]:
        return self._state()["jobs"]

    def calls(self, program: str) -> list[list[str]]:
        return [call[1:] for call in self._state()["calls"] if call[0] == program]

    def set_job(self, job_id: str, **fields: str) -> None:
        self._update(lambda state: state["jobs"][job_id].update(fields))

    def refuse_test_submissions(self, reason: str) -> None:
        """sbatch --test-only answers with this error (a policy Slurm enforces)."""
        self._update(lambda state: state.__setitem__("test_only_refusal", reason))

    def set_accounting(self, association: str, qos: str, user: str) -> None:
        """What sacctmgr show association / qos / user print (--parsable2 lines)."""
        self._update(
            lambda state: state.__setitem__("accounting", {"association": association, "qos": qos, "user": user})
        )

    def delay_sbatch_answers(self, seconds: float) -> None:
        self._update(lambda state: state.__setitem__("sbatch_answer_delay", seconds))

    def add_job(self, job_id: str, user: str, name: str, state: str = "PENDING") -> None:
        job = {
            "id": job_id,
            "user": user,
            "name": name,
            "state": state,
            "reason": "Priority",
            "node": "",
            "left": "",
            "start": "N/A",
        }
        self._update(lambda s: s["jobs"].__setitem__(job_id, job))

    def units(self) -> dict[str, dict[str, Any]]:
        """Interactive servers by "uid-server"."""
        return self._state()["units"]

    def end_unit(self, key: str, status: int) -> None:
        """The server's process exits with status, as systemd would then report it."""
        os.kill(self.units()[key]["pid"], signal.SIGTERM)
        self._update(lambda state: state["units"][key].update(active="failed", status=status))

    def stop_everything(self) -> None:
        for unit in self.units().values():
            if unit["active"] == "active":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(unit["pid"], signal.SIGTERM)


def install_fake_slurm(directory: Path) -> FakeSlurm:
    directory.mkdir(parents=True, exist_ok=True)
    state_file = directory / "state.json"
    state_file.write_text(json.dumps({"next_id": 100, "jobs": {}, "units": {}, "calls": []}))
    source = f"#!{sys.executable}\nSTATE_FILE = {str(state_file)!r}\n{PROGRAM}"
    for name in PROGRAMS:
        path = directory / name
        path.write_text(source)
        path.chmod(0o755)
    return FakeSlurm(directory, state_file)
