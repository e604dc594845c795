"""What a launcher tells the hub: the port it picked, or why the server cannot start."""

from __future__ import annotations

from fake_hub import fake_hub
from hpclab.lab.hub_report import MAX_ERROR_LENGTH, report_port, report_startup_error, with_port


def test_the_port_goes_to_batchspawners_api_with_the_servers_token():
    with fake_hub() as hub:
        report_port({"JUPYTERHUB_API_URL": hub.url, "JUPYTERHUB_API_TOKEN": "secret"}, 43210)
    assert hub.posts == [("/hub/api/batchspawner", "token secret", {"port": 43210})]


def test_a_startup_error_is_sent_whole_up_to_a_limit():
    with fake_hub() as hub:
        report_startup_error({"JUPYTERHUB_API_URL": hub.url + "/", "JUPYTERHUB_API_TOKEN": "t"}, "x" * 5000)
    assert hub.fields() == {"startup_error": "x" * MAX_ERROR_LENGTH}


def test_the_service_url_gets_the_port():
    assert with_port("http://0.0.0.0:0/user/alice/", 5000) == "http://0.0.0.0:5000/user/alice/"
    assert with_port("http://[::1]:0/user/alice/lab2/", 5000) == "http://[::1]:5000/user/alice/lab2/"
