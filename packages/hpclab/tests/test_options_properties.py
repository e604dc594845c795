"""Whatever a user sends, the validator answers with its own error or with options whose
batch script holds only the expected #SBATCH lines (property-based: hypothesis)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from hpclab.common.user_environment import USER_ENVIRONMENT_VARIABLE, encode_user_environment, server_environment
from hpclab.hub.batch_script import render_batch_script
from hpclab.hub.cluster import parse_sinfo
from hpclab.hub.options import OptionsError, validate_options
from hpclab.hub.slurm_policy import ClusterPolicy

PARTITIONS = parse_sinfo("cpu|cpu*|1-00:00:00|8|16000|(null)\ngpu|gpu|infinite|32|250000|gpu:a100:4(S:0-1)\n")
POLICY = ClusterPolicy(PARTITIONS).for_user("alice")
FIELDS = ("kind", "partition", "account", "time", "cpus", "memory", "gpus", "sandbox", "environment")
EXPECTED_DIRECTIVE = re.compile(
    r"#SBATCH --(job-name=jupyterhub-x|partition=(cpu|gpu)|time=([0-9]+-)?[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"|signal=B:USR1@90|no-requeue|nodes=1|ntasks=1|cpus-per-task=[0-9]+|output=/dev/null|chdir=/home/alice|export=[A-Z_,]+"
    r"|mem=[0-9]+M|gres=gpu:[0-9]+|account=[A-Za-z0-9_.-]+)"
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
# Plausible text (digits of every script, units, separators) as well as anything.
OTHER_DIGITS = "\u00b2\u00b3\u0661\u0662\u0664\u212a"  # ² ³ Arabic-Indic 1 2 4, Kelvin sign
field_text = st.text(alphabet=st.characters(), max_size=12) | st.from_regex(
    rf"\A[0-9{OTHER_DIGITS} \-:.KMGTkmgtb]{{0,10}}\Z"
)
field_values = json_values | field_text | st.sampled_from(["slurm", "interactive", "cpu", "gpu", "on"])
environments = st.text(max_size=80) | st.dictionaries(st.text(max_size=8), json_values, max_size=4)
requests = (
    st.fixed_dictionaries({}, optional={**{name: field_values for name in FIELDS}, "environment": environments})
    | json_values
)


@settings(max_examples=1500, deadline=None)
@given(requests)
def test_any_request_gets_options_or_the_users_error(raw):
    try:
        options = validate_options(raw, POLICY)
    except OptionsError as error:
        message = str(error)
        assert message
        return
    if options.kind != "slurm":
        return
    exported = ["JUPYTERHUB_API_TOKEN", USER_ENVIRONMENT_VARIABLE]
    script = render_batch_script(
        options, server_name="x", home="/home/alice", exported_names=exported, command=["/sw/bin/start"]
    )
    directives = [line for line in script.splitlines() if line.startswith("#SBATCH")]
    assert all(EXPECTED_DIRECTIVE.fullmatch(line) for line in directives), directives
    # Nothing else in the script but its first line, the directives and the command.
    assert script.splitlines()[0] == "#!/bin/bash -l"
    assert script.splitlines()[len(directives) + 1 :] == ["", "exec /sw/bin/start"]


@settings(max_examples=500, deadline=None)
@given(environments)
def test_accepted_variables_reach_the_server_exactly(environment):
    try:
        options = validate_options({"kind": "interactive", "environment": environment}, POLICY)
    except OptionsError:
        return
    carried = {"PATH": "/usr/bin", USER_ENVIRONMENT_VARIABLE: encode_user_environment(options.environment)}
    delivered = server_environment(carried)
    assert {name: delivered[name] for name in options.environment} == options.environment
    assert USER_ENVIRONMENT_VARIABLE not in delivered
