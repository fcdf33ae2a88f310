"""Integration tests of tests/engine_harness.py against a REAL OpenQuake Engine 3.26.2.

No Django needed: run with ``.venv/bin/python -m pytest tests/test_engine_harness.py -p no:django``
(or with pytest-django loaded: nothing here touches the database). Cold (no cached engine venv)
this installs the engine first (~1.5 min); warm it takes well under a minute.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

requests = pytest.importorskip("requests")

try:
    import engine_harness as eh
except ImportError:  # tests/ became a package
    from tests import engine_harness as eh

pytestmark = pytest.mark.engine

JOB = ("classical_case_18", "job_icebox.ini")
IMTS = ("PGA", "SA(0.2)", "SA(1.0)")
ADMIN_PASSWORD = "Icebox-admin-pw-1"
ALICE_PASSWORD = "Icebox-alice-pw-1"

HOME = Path.home()
HOME_PATHS = [HOME / "oqdata", HOME / "openquake.cfg", HOME / ".cache" / "matplotlib",
              HOME / ".config" / "matplotlib"]
HOME_BEFORE = {p: p.exists() for p in HOME_PATHS}

TIMINGS: dict[str, float] = {}


def _timed(name, func, *args, **kwargs):
    t0 = time.monotonic()
    try:
        return func(*args, **kwargs)
    finally:
        TIMINGS[name] = time.monotonic() - t0


@pytest.fixture(scope="module", autouse=True)
def _report_timings(pytestconfig):
    t0 = time.monotonic()
    yield
    TIMINGS["module total"] = time.monotonic() - t0
    line = "engine harness timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in TIMINGS.items())
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(line)


@pytest.fixture(scope="module")
def venv():
    return _timed("engine_venv", eh.engine_venv)


@pytest.fixture(scope="module")
def datadir(venv, tmp_path_factory):
    return _timed("prepare_datadir", eh.prepare_datadir, tmp_path_factory.mktemp("oq"))


@pytest.fixture(scope="module")
def calc_id(datadir):
    return _timed("run_calc", eh.run_calc, datadir, eh.job(*JOB))


@pytest.fixture(scope="module")
def public_server(datadir, calc_id):
    server = eh.EngineServer(datadir)
    _timed("public server start", server.start)
    with server:
        yield server


@pytest.fixture(scope="module")
def restricted_server(datadir, calc_id):
    # same data dir (and db) as the public server: RESTRICTED only adds the auth tables
    server = eh.EngineServer(datadir, restricted=True,
                             users={"admin": ADMIN_PASSWORD, "alice": ALICE_PASSWORD})
    _timed("restricted server start (migrate+users)", server.start)
    with server:
        yield server


def _login(server, username, password):
    session = requests.Session()
    resp = session.post(f"{server.url}/accounts/ajax_login/",
                        data={"username": username, "password": password}, timeout=30)
    return session, resp


# ---------------------------------------------------------------------------------------------
# install, data dir


def test_install_is_cached_and_warm(venv):
    cache = Path(os.environ.get("ICEBOX_OQ_CACHE", "/var/cache/icebox"))
    assert venv.parent == cache
    assert venv.name.startswith(f"oq-engine-{eh.ENGINE_VERSION}-")
    assert (venv / ".icebox-install-complete").is_file()
    assert not venv.is_relative_to(eh.REPO_ROOT)
    t0 = time.monotonic()
    out = subprocess.run(["bash", str(eh.INSTALL_SCRIPT), "install"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert out.strip().splitlines()[-1] == str(venv)
    assert time.monotonic() - t0 < 10, "a complete venv must be reused, not rebuilt"
    # django 4.2 lives in the engine venv only
    version = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "import django; print(django.__version__)"],
                             capture_output=True, text=True, check=True).stdout
    assert version.startswith("4.2.")


def test_datadirs_are_isolated(datadir, tmp_path):
    cfg = (datadir / "openquake.cfg").read_text()
    assert f"file = {datadir / 'db.sqlite3'}" in cfg
    assert (datadir / "db.sqlite3").is_file()
    other = eh.prepare_datadir(tmp_path)
    assert other != datadir
    assert (other / "db.sqlite3").is_file()
    assert eh.engine_env(other)["OQ_CONFIG_FILE"] == str(other / "openquake.cfg")
    assert eh.calc_status(other, 1) is None  # a fresh, separate database


# ---------------------------------------------------------------------------------------------
# calc via the CLI, PUBLIC server


def test_calc_listed_complete(public_server, calc_id):
    resp = requests.get(f"{public_server.url}/v1/engine_version", timeout=30)
    assert resp.status_code == 200 and resp.text.strip() == eh.ENGINE_VERSION
    resp = requests.get(f"{public_server.url}/v1/calc/list", timeout=30)
    assert resp.status_code == 200
    calcs = {c["id"]: c for c in resp.json()}
    assert calcs[calc_id]["status"] == "complete"
    assert calcs[calc_id]["calculation_mode"] == "classical"
    assert "Vancouver" in calcs[calc_id]["description"]


def test_results_list_hazard_outputs(public_server, calc_id):
    resp = requests.get(f"{public_server.url}/v1/calc/{calc_id}/results", timeout=30)
    assert resp.status_code == 200
    types = {o["type"] for o in resp.json()}
    assert {"hcurves", "hmaps", "hmaps-stats", "uhs"} <= types


def test_hcurves_csv_zip(public_server, calc_id):
    outputs = requests.get(f"{public_server.url}/v1/calc/{calc_id}/results", timeout=30).json()
    hcurves = next(o for o in outputs if o["type"] == "hcurves")
    resp = requests.get(f"{public_server.url}/v1/calc/result/{hcurves['id']}",
                        params={"export_type": "csv"}, timeout=60)
    assert resp.status_code == 200, resp.text[:2000]
    archive = zipfile.ZipFile(io.BytesIO(resp.content))
    names = set(archive.namelist())
    # 3 realizations + mean + quantiles 0.15/0.85, times 3 IMTs
    kinds = ["hazard_curve-rlz-000", "hazard_curve-rlz-001", "hazard_curve-rlz-002",
             "hazard_curve-mean", "quantile_curve-0.15", "quantile_curve-0.85"]
    expected = {f"{kind}-{imt}_{calc_id}.csv" for kind in kinds for imt in IMTS}
    assert names == expected
    assert len(names) == 18
    for name in names:
        lines = archive.read(name).decode().splitlines()
        assert lines[0].startswith("#,") and "generated_by='OpenQuake engine 3.26.2'" in lines[0]
        assert lines[1].startswith("lon,lat,depth,poe-")
        assert len(lines) == 2 + 3  # 3 sites


# ---------------------------------------------------------------------------------------------
# RESTRICTED server


def test_restricted_anonymous_is_403(restricted_server):
    resp = requests.get(f"{restricted_server.url}/v1/calc/list", timeout=30)
    assert resp.status_code == 403
    assert resp.content == b""


def test_restricted_login_gives_session(restricted_server, calc_id):
    session, resp = _login(restricted_server, "admin", ADMIN_PASSWORD)
    assert resp.status_code == 200
    assert "sessionid" in session.cookies
    resp = session.get(f"{restricted_server.url}/v1/calc/list", timeout=30)
    assert resp.status_code == 200
    assert calc_id in {c["id"] for c in resp.json()}  # superuser sees root's CLI calcs

    session, resp = _login(restricted_server, "alice", ALICE_PASSWORD)
    assert resp.status_code == 200
    resp = session.get(f"{restricted_server.url}/v1/calc/list", timeout=30)
    assert resp.status_code == 200
    assert resp.json() == []  # an ordinary user sees only their own calcs


def test_restricted_wrong_password_is_403(restricted_server):
    _session, resp = _login(restricted_server, "admin", "not-the-password")
    assert resp.status_code == 403
    _session, resp = _login(restricted_server, "nobody", "whatever")
    assert resp.status_code == 403


# ---------------------------------------------------------------------------------------------
# harness behaviour


def test_kill_takes_the_whole_group_down(datadir, calc_id, restricted_server):
    # a PUBLIC server on the db that RESTRICTED mode has just migrated
    server = eh.EngineServer(datadir)
    with server:
        assert requests.get(f"{server.url}/v1/calc/{calc_id}/status", timeout=30).json()[
            "status"] == "complete"
        pgid = server.process.pid
        server.kill()
        assert server.process.returncode == -9
        assert eh._group_alive(pgid) == []
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{server.url}/v1/engine_version", timeout=5)
        url = server.url
        # and it comes back on the same port
        server.start()
        assert server.url == url
        assert requests.get(f"{server.url}/v1/calc/list", timeout=30).status_code == 200
    assert not server.running
    # the other servers are unaffected
    assert requests.get(f"{restricted_server.url}/v1/calc/list", timeout=30).status_code == 403


def test_failed_calc_raises_with_log_tail(datadir, tmp_path):
    src = eh.job(*JOB)
    shutil.copytree(src.parent, tmp_path / "broken", copy_function=shutil.copyfile)
    job = tmp_path / "broken" / src.name
    job.write_text(src.read_text().replace("source_model_logic_tree.xml",
                                           "missing_logic_tree.xml"))
    with pytest.raises(eh.EngineError) as info:
        eh.run_calc(datadir, job, timeout=300)
    message = str(info.value)
    assert "missing_logic_tree.xml" in message
    assert "log lines" in message


def test_nothing_written_to_home(calc_id, public_server, restricted_server):
    created = [str(p) for p, existed in HOME_BEFORE.items() if p.exists() and not existed]
    assert created == []


# ---------------------------------------------------------------------------------------------
# one engine environment


DUMP_ENV = "import json, os; print(json.dumps(dict(os.environ)))"
# What a developer's shell or Icebox's own settings may hold: none of it may reach the engine.
INHERITED = {"DJANGO_SETTINGS_MODULE": "icebox.settings", "DATABASE_URL": "postgis://x@h/db",
             "EMAIL_BACKEND": "smtp", "PYTHONPATH": "/elsewhere", "VIRTUAL_ENV": "/work/.venv",
             "OQ_APPLICATION_MODE": "AELO", "OQ_DISTRIBUTE": "zmq", "OQ_SOMETHING_NEW": "1",
             "LOCKDOWN": "True", "WEBUI_PATHPREFIX": "/engine"}


@pytest.mark.parametrize("restricted", [False, True])
def test_the_script_and_the_harness_run_the_engine_in_one_environment(datadir, venv, monkeypatch, restricted):
    for name, value in INHERITED.items():
        monkeypatch.setenv(name, value)
    mode = ["--restricted"] if restricted else []
    out = subprocess.run(["bash", str(eh.INSTALL_SCRIPT), "run", *mode, str(datadir), str(venv / "bin" / "python"), "-c", DUMP_ENV],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    from_script = json.loads(out)
    from_script.pop("_", None)  # the shell's last command, if it exported one
    from_harness = eh.engine_env(datadir, restricted=restricted)
    assert from_script == from_harness
    for name in INHERITED:
        assert from_script.get(name) != INHERITED[name], name
    assert from_script["OQ_APPLICATION_MODE"] == ("RESTRICTED" if restricted else "PUBLIC")
    assert from_script["HOME"] == str(datadir / ".home")
    assert from_script["OQ_CONFIG_FILE"] == str(datadir / "openquake.cfg")
    assert from_script["PATH"].split(os.pathsep)[0] == str(venv / "bin")
