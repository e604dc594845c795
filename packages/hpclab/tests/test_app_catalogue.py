import pytest

from hpclab.lab.apps.catalogue import DefinitionError, catalogue

TENSORBOARD = {
    "title": "TensorBoard",
    "command": ["tensorboard", "--host", "unix://{socket}", "--path_prefix", "{prefix}"],
    "required": ["--logdir"],
}


def test_definitions_from_site_data():
    apps = catalogue(
        {"tensorboard": TENSORBOARD, "code-server": {"command": ["code-server", "--socket={socket}"], "endpoints": 1}}
    )
    assert apps["tensorboard"].listens_on_socket
    assert apps["tensorboard"].public() == {
        "name": "tensorboard",
        "title": "TensorBoard",
        "category": "Applications",
        "endpoints": 3,
        "required": ["--logdir"],
        "icon": "",
    }
    assert apps["code-server"].endpoints == 1


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("TensorBoard", TENSORBOARD, "lower-case"),
        ("tb", {"command": "tensorboard --port {port}"}, "non-empty list"),
        ("tb", {"command": ["tensorboard", "--port={prt}"]}, "unknown placeholder"),
        ("tb", {"command": ["tensorboard"]}, "must listen"),
        ("tb", {"command": ["tensorboard", "--port={port}"], "endpoints": 4}, "1, 2 or 3"),
        # Served at <server>/<name>/<endpoint>/: a name of the server's own routes would take them.
        ("lab", {"command": ["tensorboard", "--port={port}"]}, "is a route of the server"),
        ("api", {"command": ["tensorboard", "--port={port}"]}, "is a route of the server"),
    ],
)
def test_bad_definitions_are_refused_with_the_reason(name, data, reason):
    with pytest.raises(DefinitionError, match=reason):
        catalogue({name: data})
