import pytest

from hpclab.hub.hub_urls import hub_urls_through

ENV = {
    "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
    "JUPYTERHUB_ACTIVITY_URL": "http://127.0.0.1:8081/hub/api/users/alice/activity",
    "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:0/user/alice/",
}


def test_the_hub_urls_move_to_the_proxy_origin_with_their_paths():
    assert hub_urls_through("https://hub.example.org:8443", ENV) == {
        "JUPYTERHUB_API_URL": "https://hub.example.org:8443/hub/api",
        "JUPYTERHUB_ACTIVITY_URL": "https://hub.example.org:8443/hub/api/users/alice/activity",
    }


def test_a_missing_variable_stays_missing():
    assert hub_urls_through("https://hub", {"JUPYTERHUB_API_URL": "http://h:1/hub/api"}) == {
        "JUPYTERHUB_API_URL": "https://hub/hub/api"
    }


@pytest.mark.parametrize("origin", ["hub:8443", "ftp://hub", "https://", "https://hub/hub/api"])
def test_an_origin_that_is_not_one_is_refused(origin):
    with pytest.raises(ValueError, match="not an origin"):
        hub_urls_through(origin, ENV)
