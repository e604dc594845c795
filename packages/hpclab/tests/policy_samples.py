"""The demo cluster's own answers to the commands the policy cache runs, as one user
view each for alice and bob."""

from __future__ import annotations

from hpclab.hub.cluster import parse_sinfo
from hpclab.hub.slurm_policy import ClusterPolicy, parse_accounting, parse_partition_access, parse_reservations

# sacctmgr --noheader --parsable2 show association format=Account,User,Partition,ParentName,QOS,DefaultQOS,MaxWall
ASSOCIATIONS = """\
root||||normal||
root|root|||normal||
astro|||root|dev,normal|normal|
astro|alice|||dev,normal|normal|
bio|||root|dev,normal|normal|
bio|bob|||dev,normal|normal|
climate|||root|normal|normal|
climate|alice|||normal|normal|08:00:00
"""
QOS = "normal||10\ndev|00:30:00|100\n"
USERS = "alice|astro\nbob|bio\nroot|root\n"
SINFO = (
    "cpu|cpu*|1-00:00:00|32|32000|gpu:t4:2\n"
    "cpu|cpu*|1-00:00:00|32|32000|gpu:a100:2\n"
    "visu|visu|4:00:00|32|32000|gpu:t4:2\n"
    "gpu|gpu|12:00:00|32|32000|gpu:t4:2\n"
    "gpu|gpu|12:00:00|32|32000|gpu:a100:2(S:0)\n"
)
PARTITIONS = (
    "PartitionName=cpu AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL Default=YES MaxTime=1-00:00:00\n"
    "PartitionName=visu AllowGroups=ALL AllowAccounts=ALL AllowQos=normal Default=NO MaxTime=04:00:00\n"
    "PartitionName=gpu AllowGroups=ALL AllowAccounts=astro,bio AllowQos=ALL Default=NO MaxTime=12:00:00\n"
)
RESERVATIONS = (
    "ReservationName=training StartTime=2026-12-08T09:00:00 EndTime=2026-12-08T12:00:00 Duration=03:00:00 "
    "Nodes=cn2 NodeCnt=1 CoreCnt=4 Features=(null) PartitionName=cpu Flags=SPEC_NODES TRES=cpu=4 Users=bob "
    "Groups=(null) Accounts=(null) Licenses=(null) State=INACTIVE BurstBuffer=(null) Watts=n/a\n"
    "ReservationName=astro-day StartTime=2026-12-09T00:00:00 EndTime=2026-12-10T00:00:00 Duration=1-00:00:00 "
    "Nodes=cn1 NodeCnt=1 CoreCnt=32 PartitionName=(null) Flags=SPEC_NODES Users=(null) Accounts=astro State=INACTIVE\n"
)
CLUSTER = ClusterPolicy(
    partitions=parse_sinfo(SINFO),
    access=parse_partition_access(PARTITIONS),
    reservations=parse_reservations(RESERVATIONS),
    accounting=parse_accounting(ASSOCIATIONS, QOS, USERS),
)
ALICE = CLUSTER.for_user("alice")
BOB = CLUSTER.for_user("bob")
