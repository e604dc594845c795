"""What Slurm lets each user ask for: accounts, QoS, partitions, reservations and time limits.

The hub reads the whole cluster's policy at once (policy_cache.py: sacctmgr for the
accounting database, scontrol for partitions and reservations, sinfo for the nodes) and
derives each user's view from it here, without further calls. The spawn form shows that
view and options.py validates against it; `sbatch --test-only` remains the last word.
Without an accounting database (`accounting` None) any account name is passed on to
Slurm, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .cluster import Partition
from .slurm_jobs import parse_scontrol_record
from .slurm_time import SlurmTimeError, parse_slurm_time

# scontrol's word for "no restriction" in AllowAccounts, AllowQos and AllowGroups.
_EVERYONE = "ALL"
_NONE_WORDS = ("", "(null)", "N/A")


def _names(text: str) -> frozenset[str]:
    return frozenset() if text in _NONE_WORDS else frozenset(part for part in text.split(",") if part)


def _duration(text: str) -> int | None:
    """A limit in seconds; None when there is none."""
    if text in _NONE_WORDS:
        return None
    try:
        return parse_slurm_time(text)
    except SlurmTimeError:
        return None


@dataclass(frozen=True)
class Qos:
    name: str
    max_wall_seconds: int | None = None
    priority: int = 0


@dataclass(frozen=True)
class Association:
    """One user's membership of an account, with what it inherits from the account."""

    account: str
    qos: tuple[str, ...]
    default_qos: str
    max_wall_seconds: int | None


@dataclass(frozen=True)
class PartitionAccess:
    """Who may submit to a partition (scontrol show partition); None: everyone."""

    allow_accounts: frozenset[str] | None = None
    deny_accounts: frozenset[str] = frozenset()
    allow_qos: frozenset[str] | None = None
    deny_qos: frozenset[str] = frozenset()
    allow_groups: frozenset[str] | None = None

    def refusal(self, partition: str, account: str, qos: str, groups: Iterable[str]) -> str:
        """Why this account and QoS may not use the partition ('' when they may)."""
        if self.allow_groups is not None and not self.allow_groups & set(groups):
            return f"the {partition} partition is open to the groups {', '.join(sorted(self.allow_groups))} only"
        if account and (
            account in self.deny_accounts or (self.allow_accounts is not None and account not in self.allow_accounts)
        ):
            return f"the {partition} partition does not take jobs of the {account} account"
        if qos and (qos in self.deny_qos or (self.allow_qos is not None and qos not in self.allow_qos)):
            return f"the {partition} partition does not take jobs of the {qos} QoS"
        return ""


@dataclass(frozen=True)
class Reservation:
    name: str
    start: str
    end: str
    partition: str
    nodes: str
    users: frozenset[str]
    accounts: frozenset[str]

    def admits(self, user: str, accounts: Iterable[str]) -> bool:
        """Whether user, with one of these accounts, may use it. scontrol lists either who
        may use it or, each name with '-', who may not; given users and accounts, a job must
        match both (Groups are not read: such a reservation is not offered)."""
        if not self.users and not self.accounts:
            return False
        return _listed(self.users, [user]) and _listed(self.accounts, accounts)


def _listed(names: frozenset[str], candidates: Iterable[str]) -> bool:
    """Whether a candidate passes a reservation's list (empty: no restriction)."""
    if not names:
        return True
    excluded = {name[1:] for name in names if name.startswith("-")}
    if excluded:
        return any(candidate not in excluded for candidate in candidates)
    return any(candidate in names for candidate in candidates)


@dataclass(frozen=True)
class TimeBound:
    """The longest time a job may ask for, and which limit sets it."""

    seconds: int | None
    set_by: str = ""


@dataclass(frozen=True)
class Accounting:
    """The accounting database's view: every user's associations, and the QoS."""

    associations: Mapping[str, tuple[Association, ...]]
    default_accounts: Mapping[str, str]
    qos: Mapping[str, Qos]


@dataclass(frozen=True)
class ClusterPolicy:
    partitions: Mapping[str, Partition]
    access: Mapping[str, PartitionAccess] = field(default_factory=dict)
    reservations: tuple[Reservation, ...] = ()
    accounting: Accounting | None = None

    def for_user(self, user: str, groups: Iterable[str] = ()) -> UserPolicy:
        associations = self.accounting.associations.get(user, ()) if self.accounting else None
        accounts = [association.account for association in associations or ()]
        return UserPolicy(
            cluster=self,
            user=user,
            groups=frozenset(groups),
            associations={association.account: association for association in associations or ()}
            if associations is not None
            else None,
            default_account=self.accounting.default_accounts.get(user, "") if self.accounting else "",
            reservations=tuple(reservation for reservation in self.reservations if reservation.admits(user, accounts)),
        )


@dataclass(frozen=True)
class UserPolicy:
    """One user's choices. `associations` None: no accounting database, no account list."""

    cluster: ClusterPolicy
    user: str
    groups: frozenset[str]
    associations: Mapping[str, Association] | None
    default_account: str
    reservations: tuple[Reservation, ...]

    @property
    def partitions(self) -> Mapping[str, Partition]:
        return self.cluster.partitions

    @property
    def knows_accounts(self) -> bool:
        return self.associations is not None

    def account_refusal(self, account: str) -> str:
        if self.associations is None or account in self.associations:
            return ""
        if not self.associations:
            return f"{self.user} has no Slurm account on this cluster: ask the support to add one"
        return f"{account!r} is not one of your accounts ({', '.join(sorted(self.associations))})"

    def qos_refusal(self, account: str, qos: str) -> str:
        association = self.associations.get(account) if self.associations else None
        if association is None or not qos or qos in association.qos:
            return ""
        return f"the {account} account may use the QoS {', '.join(association.qos)}, not {qos!r}"

    def default_qos(self, account: str) -> str:
        association = self.associations.get(account) if self.associations else None
        return association.default_qos if association else ""

    def partition_refusal(self, partition: str, account: str, qos: str) -> str:
        access = self.cluster.access.get(partition, PartitionAccess())
        return access.refusal(partition, account, qos, self.groups)

    def reservation(self, name: str) -> Reservation | None:
        return next((reservation for reservation in self.reservations if reservation.name == name), None)

    def time_bound(self, partition: Partition, account: str, qos: str) -> TimeBound:
        """The smallest of the partition's MaxTime, the QoS's MaxWall and the association's."""
        limits = [(partition.max_time_seconds, f"the {partition.name} partition's MaxTime")]
        known_qos = self.cluster.accounting.qos.get(qos) if self.cluster.accounting and qos else None
        if known_qos is not None:
            limits.append((known_qos.max_wall_seconds, f"the {qos} QoS's MaxWall"))
        association = self.associations.get(account) if self.associations else None
        if association is not None:
            limits.append((association.max_wall_seconds, f"your MaxWall in the {account} account"))
        bounded = [(seconds, name) for seconds, name in limits if seconds is not None]
        if not bounded:
            return TimeBound(None)
        seconds, name = min(bounded, key=lambda limit: limit[0])
        return TimeBound(seconds, name)


# ----- parsing what the commands print ---------------------------------------------------

ASSOCIATION_FIELDS = ("Account", "User", "Partition", "ParentName", "QOS", "DefaultQOS", "MaxWall")
QOS_FIELDS = ("Name", "MaxWall", "Priority")
USER_FIELDS = ("User", "DefaultAccount")


def _rows(output: str, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """sacctmgr --noheader --parsable2 lines as dicts; lines of another width are skipped."""
    rows = []
    for line in output.splitlines():
        values = line.split("|")
        if len(values) == len(fields):
            rows.append(dict(zip(fields, values, strict=True)))
    return rows


def parse_accounting(associations: str, qos: str, users: str) -> Accounting:
    """From sacctmgr show association / qos / user with the fields above. A user's
    association inherits QoS and MaxWall from its account, and that from its parents."""
    rows = _rows(associations, ASSOCIATION_FIELDS)
    accounts = {row["Account"]: row for row in rows if not row["User"] and not row["Partition"]}

    def inherited(account: str, key: str) -> str:
        seen: set[str] = set()
        while account in accounts and account not in seen:
            seen.add(account)
            if accounts[account][key]:
                return accounts[account][key]
            account = accounts[account]["ParentName"]
        return ""

    by_user: dict[str, list[Association]] = {}
    for row in rows:
        if not row["User"] or row["Partition"]:
            continue
        account = row["Account"]
        qos_names = row["QOS"] or inherited(account, "QOS")
        by_user.setdefault(row["User"], []).append(
            Association(
                account=account,
                qos=tuple(sorted(_names(qos_names))),
                default_qos=row["DefaultQOS"] or inherited(account, "DefaultQOS"),
                max_wall_seconds=_duration(row["MaxWall"] or inherited(account, "MaxWall")),
            )
        )
    qos_table = {}
    for row in _rows(qos, QOS_FIELDS):
        priority = row["Priority"]
        qos_table[row["Name"]] = Qos(row["Name"], _duration(row["MaxWall"]), int(priority) if priority.isdigit() else 0)
    return Accounting(
        associations={user: tuple(sorted(found, key=lambda item: item.account)) for user, found in by_user.items()},
        default_accounts={row["User"]: row["DefaultAccount"] for row in _rows(users, USER_FIELDS)},
        qos=qos_table,
    )


def _allowed(text: str) -> frozenset[str] | None:
    return None if text in (_EVERYONE, *_NONE_WORDS) else _names(text)


def parse_partition_access(output: str) -> dict[str, PartitionAccess]:
    """`scontrol --oneliner show partition`: who may use each partition."""
    access = {}
    for line in output.splitlines():
        record = parse_scontrol_record(line)
        if "PartitionName" not in record:
            continue
        access[record["PartitionName"]] = PartitionAccess(
            allow_accounts=_allowed(record.get("AllowAccounts", _EVERYONE)),
            deny_accounts=_names(record.get("DenyAccounts", "")),
            allow_qos=_allowed(record.get("AllowQos", _EVERYONE)),
            deny_qos=_names(record.get("DenyQos", "")),
            allow_groups=_allowed(record.get("AllowGroups", _EVERYONE)),
        )
    return access


def parse_reservations(output: str) -> tuple[Reservation, ...]:
    """`scontrol --oneliner show reservation` ("No reservations in the system" when none)."""
    reservations = []
    for line in output.splitlines():
        record = parse_scontrol_record(line)
        if "ReservationName" not in record:
            continue
        partition = record.get("PartitionName", "")
        reservations.append(
            Reservation(
                name=record["ReservationName"],
                start=record.get("StartTime", ""),
                end=record.get("EndTime", ""),
                partition="" if partition in _NONE_WORDS else partition,
                nodes=record.get("Nodes", ""),
                users=_names(record.get("Users", "")),
                accounts=_names(record.get("Accounts", "")),
            )
        )
    return tuple(reservations)


def parse_cluster_name(config: str) -> str:
    """ClusterName from `scontrol show config` ("ClusterName = name")."""
    for line in config.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "ClusterName":
            return value.strip()
    return ""
