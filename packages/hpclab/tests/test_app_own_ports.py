import ipaddress
import os
import socket

from hpclab.lab.apps import own_ports
from hpclab.lab.apps.own_ports import listeners, port_receivers, proc_address, receivers

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
TABLE = [
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  2001        0 1 1 0000 100 0 0 10 0",
    "   1: 0200007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  2002        0 2 1 0000 100 0 0 10 0",
    "   2: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000  2002        0 3 1 0000 20 4 30 10 -1",
    "   3: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  2002        0 4 1 0000 100 0 0 10 0",
    "garbage",
]
TABLE6 = [
    "   0: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A"
    " 00000000:00000000 00:00000000 00000000  2003        0 5 1 0000 100 0 0 10 0",
    "   1: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A"
    " 00000000:00000000 00:00000000 00000000  2004        0 6 1 0000 100 0 0 10 0",
]


def test_addresses_as_the_kernel_writes_them():
    assert proc_address("0100007F") == LOOPBACK
    assert proc_address("0000000000000000FFFF00000100007F") == ipaddress.IPv6Address("::ffff:127.0.0.1")
    assert proc_address("00000000000000000000000001000000") == ipaddress.IPv6Address("::1")


def test_the_listener_on_the_exact_address_receives():
    sockets = listeners(TABLE + TABLE6)
    # bob on 127.0.0.2:8080 does not receive what goes to alice's 127.0.0.1:8080.
    assert receivers(LOOPBACK, 8080, sockets) == {2001}
    assert receivers(LOOPBACK, 8082, sockets) == {2003}


def test_a_wildcard_listener_receives_when_no_exact_one_does():
    sockets = listeners(TABLE + TABLE6)
    assert receivers(LOOPBACK, 8081, sockets) == {2002}
    assert receivers(LOOPBACK, 8081, listeners(TABLE6)) == {2004}
    assert receivers(LOOPBACK, 9999, sockets) == set()


def test_a_port_this_process_listens_on_is_ours_only_on_its_address():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_receivers(port) == {os.getuid()}
        assert port_receivers(port, ipaddress.IPv4Address("127.0.0.2")) == set()
    assert port_receivers(port) == set()


def test_who_listens_tells_mine_nobody_and_another_user(monkeypatch):
    monkeypatch.setattr(own_ports, "port_receivers", lambda port: {os.getuid()})
    assert own_ports.who_listens(8888) is own_ports.Listener.MINE
    monkeypatch.setattr(own_ports, "port_receivers", lambda port: set())
    assert own_ports.who_listens(8888) is own_ports.Listener.NOBODY
    # bob alone, or bob beside alice (SO_REUSEPORT): not hers.
    for uids in ({os.getuid() + 1}, {os.getuid(), os.getuid() + 1}):
        monkeypatch.setattr(own_ports, "port_receivers", lambda port, uids=uids: uids)
        assert own_ports.who_listens(8888) is own_ports.Listener.ANOTHER_USER
