"""The allow-list: strict parsing of ICEBOX_ENGINE_SERVERS, exact matching of what users type."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.exceptions import InvalidParameter
from engine.exceptions import EngineNotAllowed
from engine.servers import match_engine_url, parse_engine_servers, parse_import_target

SERVERS = parse_engine_servers("http://127.0.0.1:8800, https://admin:p%40ss@oq.example.org")


def test_it_parses_servers_with_and_without_credentials():
    public, restricted = SERVERS
    assert (public.scheme, public.host, public.port, public.username) == ("http", "127.0.0.1", 8800, None)
    assert (restricted.scheme, restricted.host, restricted.port) == ("https", "oq.example.org", 443)
    assert (restricted.username, restricted.password) == ("admin", "p@ss")
    assert restricted.base_url == "https://oq.example.org:443"


def test_the_password_is_not_in_repr_or_base_url():
    restricted = SERVERS[1]
    assert "p@ss" not in repr(restricted) and "p@ss" not in restricted.base_url


def test_empty_setting_allows_nothing():
    assert parse_engine_servers("") == ()
    assert parse_engine_servers(None) == ()


@pytest.mark.parametrize(
    "value",
    [
        "ftp://127.0.0.1:21",
        "127.0.0.1:8800",
        "http://127.0.0.1:8800/engine",
        "http://127.0.0.1:8800/?x=1",
        "http://user@127.0.0.1:8800",
        "http://:secret@127.0.0.1:8800",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:8800,,http://127.0.0.1:8801",
        "http://127.0.0.1:8800,http://127.0.0.1:8800/",
    ],
)
def test_it_refuses_doubtful_settings(value):
    with pytest.raises(ImproperlyConfigured):
        parse_engine_servers(value)


def test_a_settings_error_never_shows_the_password():
    with pytest.raises(ImproperlyConfigured) as info:
        parse_engine_servers("http://admin:hunter2@127.0.0.1:8800/path")
    assert "hunter2" not in str(info.value)


def test_it_matches_scheme_host_and_port_exactly():
    server, path = match_engine_url("http://127.0.0.1:8800", SERVERS)
    assert server is SERVERS[0] and path == ""
    assert match_engine_url("https://OQ.example.org/", SERVERS)[0] is SERVERS[1]
    assert match_engine_url("https://oq.example.org:443", SERVERS)[0] is SERVERS[1]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8801",  # another port
        "http://127.0.0.1",  # default port 80 is another port
        "https://127.0.0.1:8800",  # another scheme
        "http://localhost:8800",  # another spelling is another host
        "http://2130706433:8800",
        "http://[::1]:8800",
        "http://10.0.0.5:8800",  # private
        "http://169.254.169.254/latest/meta-data",  # link-local metadata service
        "http://oq.example.org.evil.com",
        "http://admin:p%40ss@127.0.0.1:8800",  # userinfo from the user
        "http://evil.com@127.0.0.1:8800",
        "file:///etc/passwd",
        "gopher://127.0.0.1:8800",
        "",
        "not a url",
    ],
)
def test_it_refuses_anything_else(url):
    with pytest.raises(EngineNotAllowed):
        match_engine_url(url, SERVERS)


def test_import_target_from_engine_url_and_calc_id_or_from_url():
    assert parse_import_target(engine_url="http://127.0.0.1:8800", calc_id=2, servers=SERVERS) == (SERVERS[0], 2)
    assert parse_import_target(engine_url="http://127.0.0.1:8800/", calc_id="7", servers=SERVERS) == (SERVERS[0], 7)
    for url in ("http://127.0.0.1:8800/v1/calc/2/results", "http://127.0.0.1:8800/v1/calc/2", "http://127.0.0.1:8800/v1/calc/2/status"):
        assert parse_import_target(url=url, servers=SERVERS) == (SERVERS[0], 2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"engine_url": "http://127.0.0.1:8800"},
        {"calc_id": 2},
        {"engine_url": "http://127.0.0.1:8800", "calc_id": 0},
        {"engine_url": "http://127.0.0.1:8800", "calc_id": -3},
        {"engine_url": "http://127.0.0.1:8800", "calc_id": True},
        {"engine_url": "http://127.0.0.1:8800", "calc_id": 2.5},
        {"engine_url": "http://127.0.0.1:8800/v1/calc/2", "calc_id": 2},
        {"url": "http://127.0.0.1:8800/v1/calc/result/9"},
        {"url": "http://127.0.0.1:8800/v1/calc/2/results", "calc_id": 2},
    ],
)
def test_import_target_refuses_incomplete_or_odd_requests(kwargs):
    with pytest.raises(InvalidParameter):
        parse_import_target(servers=SERVERS, **kwargs)
