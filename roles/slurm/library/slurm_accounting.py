#!/usr/bin/python
"""Ansible module: the Slurm accounting database's cluster, QoS, accounts and users, from data."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: slurm_accounting
short_description: Register a cluster, its QoS, accounts and user associations in slurmdbd
description:
  - Reads what sacctmgr holds and adds or modifies only what differs from the data, so
    that a second run changes nothing. It never deletes: removing an account or a user
    from the data leaves it in the database (its jobs' history stays readable).
  - Values are compared as sacctmgr prints them (MaxWall as 00:30:00 or 1-00:00:00,
    QOS as a list of names).
options:
  cluster:
    description: ClusterName of slurm.conf.
    type: str
    required: true
  sacctmgr:
    description: Path of sacctmgr.
    type: path
    default: /usr/bin/sacctmgr
  qos:
    description: QoS, each with Name and sacctmgr's QoS keys (Priority, MaxWall, Flags, ...).
    type: list
    elements: dict
    default: []
  accounts:
    description: >-
      Accounts, each with Name, and Description, Organization, Parent or any association
      key (QOS, DefaultQOS, MaxWall, GrpTRES, Fairshare, ...).
    type: list
    elements: dict
    default: []
  users:
    description: >-
      Users, each with Name, DefaultAccount and Accounts, a mapping of account name to that
      association's keys (MaxWall, MaxJobs, QOS, ...; {} for none), and optionally
      AdminLevel (None, Operator or Administrator).
    type: list
    elements: dict
    default: []
"""

# Keys of an account itself (sacctmgr show account); every other key is its association's.
_ACCOUNT_KEYS = ("Description", "Organization")
# Keys that hold a set of names: compared without order.
_LIST_KEYS = frozenset({"QOS"})
# Keys sacctmgr stores in lower case.
_LOWERED_KEYS = frozenset({"Description", "Organization"})


def _text(key: str, value: Any) -> str:
    if isinstance(value, list | tuple):
        value = ",".join(str(item) for item in value)
    text = str(value).lower() if key in _LOWERED_KEYS else str(value)
    return ",".join(sorted(text.split(","))) if key in _LIST_KEYS else text


class Sacctmgr:
    def __init__(self, module: AnsibleModule, path: str, cluster: str) -> None:
        self._module = module
        self._path = path
        self.cluster = cluster
        self.commands: list[list[str]] = []

    def show(self, entity: str, fields: list[str], *where: str) -> list[dict[str, str]]:
        argv = [self._path, "--noheader", "--parsable2", "show", entity, *where, f"format={','.join(fields)}"]
        rc, out, err = self._module.run_command(argv)
        if rc != 0:
            self._module.fail_json(msg=f"{' '.join(argv)} failed: {err.strip() or out.strip()}")
        return [dict(zip(fields, line.split("|"), strict=False)) for line in out.splitlines() if line]

    def change(self, *words: str) -> None:
        """Record a change; run it unless in check mode."""
        argv = [self._path, "--immediate", *words]
        self.commands.append(argv)
        if self._module.check_mode:
            return
        rc, out, err = self._module.run_command(argv)
        if rc != 0:
            self._module.fail_json(msg=f"{' '.join(argv)} failed: {err.strip() or out.strip()}", commands=self.commands)


def _settings(entry: dict[str, Any], skip: tuple[str, ...]) -> dict[str, str]:
    return {key: _text(key, value) for key, value in entry.items() if key not in skip and value is not None}


def _differences(wanted: dict[str, str], have: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in wanted.items() if _text(key, have.get(key, "")) != value]


def _sync_cluster(db: Sacctmgr) -> None:
    if db.cluster not in {row["Cluster"] for row in db.show("cluster", ["Cluster"])}:
        db.change("add", "cluster", db.cluster)


def _sync_qos(db: Sacctmgr, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        wanted = _settings(entry, ("Name",))
        rows = db.show("qos", ["Name", *wanted], "where", f"name={entry['Name']}")
        if not rows:
            db.change("add", "qos", entry["Name"], *(f"{key}={value}" for key, value in wanted.items()))
        elif changes := _differences(wanted, rows[0]):
            db.change("modify", "qos", "where", f"name={entry['Name']}", "set", *changes)


def _association(db: Sacctmgr, account: str, user: str, keys: list[str]) -> dict[str, str] | None:
    rows = db.show(
        "association", ["Account", "User", "Partition", *keys], "where", f"cluster={db.cluster}", f"account={account}"
    )
    for row in rows:
        if row["User"] == user and not row["Partition"]:
            return row
    return None


def _sync_accounts(db: Sacctmgr, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        name = entry["Name"]
        own = {key: _text(key, entry[key]) for key in _ACCOUNT_KEYS if key in entry}
        association = _settings(entry, ("Name", "Parent", *_ACCOUNT_KEYS))
        existing = db.show("account", ["Account", *own], "where", f"name={name}")
        held = _association(db, name, "", list(association))
        if held is None:
            everything = {**own, **association, **({"Parent": entry["Parent"]} if "Parent" in entry else {})}
            db.change(
                "add",
                "account",
                name,
                f"Cluster={db.cluster}",
                *(f"{key}={value}" for key, value in everything.items()),
            )
            continue
        changes = _differences(own, existing[0] if existing else {}) + _differences(association, held)
        if changes:
            db.change("modify", "account", "where", f"name={name}", f"cluster={db.cluster}", "set", *changes)


def _sync_users(db: Sacctmgr, entries: list[dict[str, Any]]) -> None:
    rows = db.show("user", ["User", "DefaultAccount", "AdminLevel"])
    defaults = {row["User"]: row["DefaultAccount"] for row in rows}
    levels = {row["User"]: row["AdminLevel"] for row in rows}
    for entry in entries:
        name = entry["Name"]
        for account, limits in (entry.get("Accounts") or {}).items():
            wanted = _settings(limits or {}, ())
            held = _association(db, account, name, list(wanted))
            if held is None:
                first = [f"DefaultAccount={entry['DefaultAccount']}"] if name not in defaults else []
                db.change("add", "user", name, f"Cluster={db.cluster}", f"Account={account}", *first,
                          *(f"{key}={value}" for key, value in wanted.items()))  # fmt: skip
                defaults.setdefault(name, entry["DefaultAccount"])
            elif changes := _differences(wanted, held):
                db.change(
                    "modify",
                    "user",
                    "where",
                    f"name={name}",
                    f"cluster={db.cluster}",
                    f"account={account}",
                    "set",
                    *changes,
                )
        if defaults.get(name) != entry["DefaultAccount"]:
            db.change("modify", "user", "where", f"name={name}", "set", f"DefaultAccount={entry['DefaultAccount']}")
        level = entry.get("AdminLevel")
        if level is not None and levels.get(name, "None") != level:
            db.change("modify", "user", "where", f"name={name}", "set", f"AdminLevel={level}")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "cluster": {"type": "str", "required": True},
            "sacctmgr": {"type": "path", "default": "/usr/bin/sacctmgr"},
            "qos": {"type": "list", "elements": "dict", "default": []},
            "accounts": {"type": "list", "elements": "dict", "default": []},
            "users": {"type": "list", "elements": "dict", "default": []},
        },
        supports_check_mode=True,
    )
    db = Sacctmgr(module, module.params["sacctmgr"], module.params["cluster"])
    _sync_cluster(db)
    _sync_qos(db, module.params["qos"])
    _sync_accounts(db, module.params["accounts"])
    _sync_users(db, module.params["users"])
    module.exit_json(changed=bool(db.commands), commands=[" ".join(argv) for argv in db.commands])


if __name__ == "__main__":
    main()
