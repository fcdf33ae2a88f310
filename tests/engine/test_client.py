"""engine.client against a local fake engine: every error shape becomes a typed, readable error."""

import zipfile

import pytest

from engine.client import EngineClient
from engine.exceptions import (
    CalcNotFound,
    DownloadTooLarge,
    EngineBadResponse,
    EngineForbidden,
    EngineHTTPError,
    EngineRedirectRefused,
    EngineRefusedLogin,
    EngineUnreachable,
)
from engine.servers import parse_engine_servers
from tests.engine.fake_engine import CALC, FakeEngine, Reply, closed_port

TRACEBACK = (
    b"DataStoreExportError: Could not export hcurves in xml\n"
    b"Traceback (most recent call last):\n  File \"/oq/views.py\", line 1, in export\n"
)


@pytest.fixture
def engine():
    with FakeEngine() as fake:
        yield fake


def client_for(url, *, max_download_bytes=10_000_000, read_timeout=5.0):
    (server,) = parse_engine_servers(url)
    return EngineClient(server, connect_timeout=2, read_timeout=read_timeout, max_download_bytes=max_download_bytes)


def test_it_reads_status_info_results_version_and_job_parameters(engine):
    with client_for(engine.url) as client:
        assert client.calc_status(CALC)["status"] == "complete"
        assert client.calc_info(CALC)["stop_time"] == "2026-11-27 18:18:16.373625+00:00"
        assert [o["type"] for o in client.results(CALC)][:3] == ["fullreport", "hcurves", "hmaps"]
        assert client.engine_version() == "3.26.2"
        assert client.oqparam(CALC)["quantiles"] == [0.15, 0.85]


def test_a_download_streams_to_a_file_named_by_the_engine(engine, tmp_path):
    seen = []
    with client_for(engine.url) as client:
        download = client.download(calc_id=CALC, output_id=9, dest_dir=tmp_path, on_bytes=seen.append)
    assert download.file_name == "output-9-hcurves-csv.zip"
    assert download.path.parent == tmp_path and download.size == download.path.stat().st_size == sum(seen)
    assert len(zipfile.ZipFile(download.path).namelist()) == 18
    assert ("GET", "/v1/calc/result/9?export_type=csv") in engine.requests


def test_404_with_an_empty_body_is_no_such_calculation(engine):
    with client_for(engine.url) as client, pytest.raises(CalcNotFound) as info:
        client.calc_status(7)
    assert str(info.value) == f"engine at {engine.url} answered 404 for calc 7: no such calculation"


def test_404_for_an_output_names_the_output(engine, tmp_path):
    with client_for(engine.url) as client, pytest.raises(CalcNotFound, match="404 for output 99 of calc 2: no such output"):
        client.download(calc_id=CALC, output_id=99, dest_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_500_text_traceback_gives_its_first_line(engine, tmp_path):
    engine.routes["/v1/calc/result/9"] = Reply(500, TRACEBACK, {"Content-Type": "text/plain"})
    with client_for(engine.url) as client, pytest.raises(EngineHTTPError) as info:
        client.download(calc_id=CALC, output_id=9, dest_dir=tmp_path)
    assert info.value.status == 500
    assert str(info.value).endswith("answered 500 for output 9 of calc 2: DataStoreExportError: Could not export hcurves in xml")


def test_500_html_debug_page_gives_its_title(engine):
    page = b"<!DOCTYPE html><html><head><title>TypeError at /v1/calc/2/status</title></head><body>...</body></html>"
    engine.routes[f"/v1/calc/{CALC}/status"] = Reply(500, page, {"Content-Type": "text/html"})
    with client_for(engine.url) as client, pytest.raises(EngineHTTPError, match="answered 500 for calc 2: TypeError at /v1/calc/2/status$"):
        client.calc_status(CALC)


def test_a_redirect_to_another_server_is_refused_and_never_followed(engine):
    with FakeEngine() as elsewhere:
        engine.routes[f"/v1/calc/{CALC}/status"] = Reply(302, b"", {"Location": f"{elsewhere.url}/v1/calc/2/status"})
        with client_for(engine.url) as client, pytest.raises(EngineRedirectRefused, match="to another server"):
            client.calc_status(CALC)
        assert elsewhere.connections == 0


@pytest.mark.parametrize("location", ["http://localhost:{port}/x", "http://u:p@127.0.0.1:{port}/v1/engine_version", "https://127.0.0.1:{port}/x"])
def test_same_host_with_another_spelling_scheme_or_userinfo_is_refused(engine, location):
    engine.routes["/v1/engine_version"] = Reply(301, b"", {"Location": location.format(port=engine.port)})
    with client_for(engine.url) as client, pytest.raises(EngineRedirectRefused):
        client.engine_version()


def test_a_redirect_on_the_same_server_is_followed(engine):
    engine.routes[f"/v1/calc/{CALC}/status"] = Reply(302, b"", {"Location": f"/v1/calc/{CALC}"})
    with client_for(engine.url) as client:
        assert client.calc_status(CALC)["stop_time"].startswith("2026-11-27")


def test_a_redirect_loop_ends(engine):
    engine.routes["/v1/engine_version"] = Reply(302, b"", {"Location": "/v1/engine_version"})
    with client_for(engine.url) as client, pytest.raises(EngineBadResponse, match="more than 3 times"):
        client.engine_version()


def test_a_download_over_the_announced_cap_is_refused_before_reading(engine, tmp_path):
    with client_for(engine.url, max_download_bytes=1000) as client, pytest.raises(DownloadTooLarge, match="over the download limit of 1000 bytes"):
        client.download(calc_id=CALC, output_id=9, dest_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_download_without_length_is_cut_at_the_cap(engine, tmp_path):
    engine.routes["/v1/calc/result/9"] = Reply(200, chunks=(b"x" * 4096 for _ in range(100)))
    with client_for(engine.url, max_download_bytes=10_000) as client, pytest.raises(DownloadTooLarge):
        client.download(calc_id=CALC, output_id=9, dest_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_body_cut_short_is_an_engine_that_broke_off(engine, tmp_path):
    engine.routes["/v1/calc/result/9"] = Reply(200, chunks=iter([b"PK\x03\x04partial"]), headers={"Content-Length": "5000"})
    with client_for(engine.url) as client, pytest.raises(EngineUnreachable, match="broke off while sending output 9 of calc 2"):
        client.download(calc_id=CALC, output_id=9, dest_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_silent_engine_times_out(engine):
    engine.routes[f"/v1/calc/{CALC}/status"] = Reply(200, b"{}", delay=2)
    with client_for(engine.url, read_timeout=0.3) as client, pytest.raises(EngineUnreachable, match="did not answer in time"):
        client.calc_status(CALC)


def test_nobody_listening_is_unreachable():
    with client_for(f"http://127.0.0.1:{closed_port()}") as client, pytest.raises(EngineUnreachable, match="cannot be reached"):
        client.engine_version()


def test_json_that_is_not_json_is_a_bad_response(engine):
    engine.routes[f"/v1/calc/{CALC}/results"] = Reply(200, b"<html>login</html>")
    with client_for(engine.url) as client, pytest.raises(EngineBadResponse, match="not JSON"):
        client.results(CALC)


def test_oqparam_that_is_not_an_npz_is_a_bad_response(engine):
    engine.routes[f"/v1/calc/{CALC}/extract/oqparam"] = Reply(200, b"PK\x03\x04not really")
    with client_for(engine.url) as client, pytest.raises(EngineBadResponse, match="job parameters of calc 2"):
        client.oqparam(CALC)


# -- RESTRICTED mode ---------------------------------------------------------------------------


def test_it_logs_in_once_and_uses_the_session_cookie():
    with FakeEngine(users={"admin": "pw-1"}) as engine:
        host = engine.url.removeprefix("http://")
        with client_for(f"http://admin:pw-1@{host}") as client:
            assert client.calc_status(CALC)["status"] == "complete"
            assert client.engine_version() == "3.26.2"
        assert engine.login_forms == [{"username": "admin", "password": "pw-1"}]
        assert engine.paths()[0] == "/accounts/ajax_login/"


def test_a_refused_login_names_the_user_not_the_password():
    with FakeEngine(users={"admin": "pw-1"}) as engine:
        host = engine.url.removeprefix("http://")
        with client_for(f"http://admin:wrong-pw@{host}") as client, pytest.raises(EngineRefusedLogin) as info:
            client.calc_status(CALC)
    assert str(info.value) == f"engine at {engine.url} refused the login for user 'admin'"
    assert "wrong-pw" not in str(info.value)


def test_a_restricted_engine_without_credentials_says_to_configure_them():
    with FakeEngine(users={"admin": "pw-1"}) as engine:
        with client_for(engine.url) as client, pytest.raises(EngineForbidden, match="it wants a login"):
            client.calc_status(CALC)
