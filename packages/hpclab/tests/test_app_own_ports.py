import os
import socket

from hpclab.lab.apps.own_ports import listening_owners, port_owners

TABLE = [
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  2001        0 1 1 0000 100 0 0 10 0",
    "   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  2002        0 2 1 0000 100 0 0 10 0",
    "   2: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000  2002        0 3 1 0000 20 4 30 10 -1",
    "garbage",
]


def test_listening_sockets_and_their_owners():
    assert listening_owners(TABLE) == {8080: {2001}, 8081: {2002}}


def test_a_port_this_process_listens_on_is_ours():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert os.getuid() in port_owners(port)
    assert port_owners(port) == set()
