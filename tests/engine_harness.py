"""Harness that installs, runs and serves a REAL OpenQuake Engine 3.26.2 for integration tests.

Plain Python (standard library only, no Django import), so pytest fixtures can use it before or
without Icebox's Django settings. The engine lives in its own virtualenv, created and cached by
``scripts/oq-engine.sh install`` outside the repo (``${ICEBOX_OQ_CACHE:-/var/cache/icebox}``),
because it pins Django 4.2.

Typical fixtures::

    @pytest.fixture(scope="session")
    def oq_datadir(tmp_path_factory):
        return engine_harness.prepare_datadir(tmp_path_factory.mktemp("oq"))

    @pytest.fixture(scope="session")
    def oq_calc(oq_datadir):
        return engine_harness.run_calc(
            oq_datadir, engine_harness.job("classical_case_18", "job_icebox.ini"))

    @pytest.fixture
    def oq_server(oq_datadir, oq_calc):
        with engine_harness.EngineServer(oq_datadir) as server:
            yield server          # server.url == "http://127.0.0.1:<port>"

Isolation: every data dir has its own ``openquake.cfg`` (``[dbserver] file`` inside the dir),
found by the engine through ``OQ_CONFIG_FILE`` (read after ``$VIRTUAL_ENV/openquake.cfg`` and
``~/openquake.cfg``, so it wins), its own ``OQ_DATADIR`` and its own HOME
(``<datadir>/.home``), so two data dirs never share a database and nothing is written to ``~``.
Engine processes run in their own session/process group and are killed as a group. That
environment and the config are defined once, in ``scripts/oq-engine.sh`` (``environ``,
``prepare``): the harness asks the script for them.
"""
from __future__ import annotations

import atexit
import http.cookiejar
import json
import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = [
    "ENGINE_VERSION",
    "EngineError",
    "EngineServer",
    "calc_status",
    "engine_env",
    "engine_venv",
    "prepare_datadir",
    "run_calc",
    "job",
    "package_job",
]

log = logging.getLogger("icebox.engine_harness")

ENGINE_VERSION = "3.26.2"
REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "oq-engine.sh"

#: install + warm-up can take a few minutes cold (pip ~40 s, first `oq` command ~50 s here)
INSTALL_TIMEOUT = float(os.environ.get("ICEBOX_OQ_INSTALL_TIMEOUT", 1800))
PREPARE_TIMEOUT = 300.0
CALC_TIMEOUT = 900.0
SERVER_START_TIMEOUT = 180.0
SERVER_STOP_TIMEOUT = 15.0
LOG_TAIL_LINES = 60

class EngineError(RuntimeError):
    """The engine could not be installed, prepared, run or served (message has its log tail)."""


# ----------------------------------------------------------------------------------------------
# helpers


def _tail(text_or_path: str | Path | None, lines: int = LOG_TAIL_LINES) -> str:
    if text_or_path is None:
        return ""
    if isinstance(text_or_path, Path):
        try:
            text = text_or_path.read_text(errors="replace")
        except OSError as exc:
            return f"<cannot read {text_or_path}: {exc}>"
    else:
        text = text_or_path
    return "\n".join(text.splitlines()[-lines:])


def _error(message: str, log_text: str | Path | None = None) -> EngineError:
    tail = _tail(log_text)
    where = f" (full log: {log_text})" if isinstance(log_text, Path) else ""
    if tail:
        message = f"{message}{where}\n----- last {LOG_TAIL_LINES} log lines -----\n{tail}"
    return EngineError(message)


def _group_alive(pgid: int) -> list[int]:
    """Pids of the non-zombie processes of process group ``pgid`` (Linux /proc)."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
        except OSError:
            continue
        # pid (comm) state ppid pgrp ... ; comm may contain spaces/parentheses
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            alive.append(int(entry))
    return alive


def _kill_group(proc: subprocess.Popen, *, term_timeout: float = SERVER_STOP_TIMEOUT,
                sig: int = signal.SIGTERM) -> None:
    """Stop the whole process group led by ``proc`` (started with start_new_session=True)."""
    pgid = proc.pid
    if proc.poll() is not None and not _group_alive(pgid):
        return  # already gone: never signal a pgid that may have been reused
    if sig != signal.SIGKILL:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=term_timeout)
        except subprocess.TimeoutExpired:
            pass
    deadline = time.monotonic() + 10
    while True:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
        if proc.poll() is not None and not _group_alive(pgid):
            return
        if time.monotonic() > deadline:
            raise EngineError(f"process group {pgid} still alive after SIGKILL: {_group_alive(pgid)}")


def _run(cmd: list[str], *, env: Mapping[str, str] | None, cwd: Path | None, timeout: float,
         log_path: Path, what: str) -> int:
    """Run ``cmd`` in its own process group, output appended to ``log_path``; bounded by timeout."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc, term_timeout=5)
            raise _error(f"{what} timed out after {timeout:.0f} s", log_path) from None
        except BaseException:
            _kill_group(proc, term_timeout=5)
            raise


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------------------------------
# locating inputs


#: Icebox's own job files. Their inputs (logic trees, sources, sites, GMPE tables) are the ones
#: the engine package ships for its own tests, so the repository keeps only the .ini files.
JOBS_DIR = REPO_ROOT / "fixtures" / "engine" / "jobs"
#: repository job folder -> the folder of ``openquake/qa_tests_data`` holding its inputs
JOB_INPUTS = {"classical_case_18": "classical/case_18"}

_assembled: dict[str, Path] = {}


def qa_tests_data(name: str) -> Path:
    """A job folder the engine package ships: ``openquake/qa_tests_data/<name>`` in the engine venv."""
    venv = engine_venv()
    found = sorted(venv.glob(f"lib/python3*/site-packages/openquake/qa_tests_data/{name}"))
    if not found or not found[0].is_dir():
        raise EngineError(f"the engine package in {venv} has no qa_tests_data/{name}")
    return found[0]


def job(name: str, ini: str = "job.ini") -> Path:
    """``fixtures/engine/jobs/<name>/<ini>``, beside the package's inputs, as a complete job folder.

    The folder is assembled once per process in a temporary directory (removed at exit): the
    package's files first, then the repository's .ini files over them.
    """
    if name not in JOB_INPUTS:
        raise EngineError(f"unknown job {name!r} (known: {', '.join(JOB_INPUTS)})")
    if name not in _assembled:
        root = Path(tempfile.mkdtemp(prefix=f"icebox-oq-job-{name}-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        dest = root / name
        shutil.copytree(qa_tests_data(JOB_INPUTS[name]), dest, copy_function=shutil.copyfile,
                        ignore=shutil.ignore_patterns("__pycache__", "__init__.py", "expected"))
        for own in (JOBS_DIR / name).iterdir():
            shutil.copyfile(own, dest / own.name)
        _assembled[name] = dest
    path = _assembled[name] / ini
    if not path.is_file():
        raise EngineError(f"no job file {ini} in {JOBS_DIR / name} or the package's {JOB_INPUTS[name]}")
    return path


def package_job(folder: str, ini: str = "job.ini") -> Path:
    """A job the engine package ships as is (``qa_tests_data/<folder>/<ini>``), copied once per process."""
    key = f"package:{folder}"
    if key not in _assembled:
        root = Path(tempfile.mkdtemp(prefix="icebox-oq-package-job-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        dest = root / folder.replace("/", "_")
        shutil.copytree(qa_tests_data(folder), dest, copy_function=shutil.copyfile,
                        ignore=shutil.ignore_patterns("__pycache__", "__init__.py", "expected"))
        _assembled[key] = dest
    path = _assembled[key] / ini
    if not path.is_file():
        raise EngineError(f"no job file {ini} in the package's qa_tests_data/{folder}")
    return path


# ----------------------------------------------------------------------------------------------
# install


_venv_result: Path | EngineError | None = None


def engine_venv() -> Path:
    """The engine's virtualenv, installed and warmed by ``scripts/oq-engine.sh install`` if needed.

    Cached per process, failures included (a failed install is not retried by every fixture);
    the script itself returns in milliseconds when the venv is already complete.
    """
    global _venv_result
    if _venv_result is None:
        try:
            _venv_result = _install()
        except EngineError as exc:
            _venv_result = exc
    if isinstance(_venv_result, EngineError):
        raise _venv_result
    return _venv_result


def _install() -> Path:
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="icebox-oq-install-") as tmp:
        log_path = Path(tmp) / "install.log"
        out_path = Path(tmp) / "stdout"
        with open(out_path, "wb") as out, open(log_path, "wb") as err:
            proc = subprocess.Popen(["bash", str(INSTALL_SCRIPT), "install"], stdout=out,
                                    stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=INSTALL_TIMEOUT)
            except BaseException:
                _kill_group(proc, term_timeout=5)
                raise _error(f"engine install did not finish in {INSTALL_TIMEOUT:.0f} s "
                             "(set ICEBOX_OQ_INSTALL_TIMEOUT)", log_path.read_text()) from None
        stdout = out_path.read_text()
        if rc != 0:
            raise _error(f"{INSTALL_SCRIPT} install failed with exit code {rc}",
                         log_path.read_text() + stdout)
        lines = [line for line in stdout.splitlines() if line.strip()]
        venv = Path(lines[-1].strip()) if lines else None
        if venv is None or not (venv / "bin" / "oq").exists():
            raise _error(f"{INSTALL_SCRIPT} install printed no usable venv path: {stdout!r}",
                         log_path.read_text())
    log.info("engine venv %s ready in %.1f s", venv, time.monotonic() - t0)
    return venv


# ----------------------------------------------------------------------------------------------
# data dirs and calculations


def engine_env(datadir: Path, *, restricted: bool = False) -> dict[str, str]:
    """Environment for an engine process working on ``datadir`` (a dir from prepare_datadir).

    ``scripts/oq-engine.sh`` defines it (``environ``), so that the engine the tests run and the
    one a developer starts with the script see the same variables.
    """
    engine_venv()
    mode = ["--restricted"] if restricted else []
    proc = subprocess.run(["bash", str(INSTALL_SCRIPT), "environ", *mode, str(Path(datadir).resolve())],
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    if proc.returncode != 0:
        raise _error(f"{INSTALL_SCRIPT} environ failed with exit code {proc.returncode}",
                     proc.stderr.decode(errors="replace"))
    pairs = (item.partition("=") for item in proc.stdout.decode().split("\0") if item)
    # `_` is the shell's last command, not a setting.
    return {name: value for name, _sep, value in pairs if name != "_"}


def prepare_datadir(tmp: Path) -> Path:
    """Create ``<tmp>/oqdata`` with its own ``openquake.cfg`` and database; return its path.

    Idempotent (same tmp -> same data dir, db upgraded in place). Every data dir has its own
    sqlite db, so calcs of different data dirs never mix; ``scripts/oq-engine.sh prepare``
    writes the config and checks that the engine reads it.
    """
    t0 = time.monotonic()
    engine_venv()
    datadir = (Path(tmp) / "oqdata").resolve()
    log_path = datadir / "logs" / "prepare.log"
    rc = _run(["bash", str(INSTALL_SCRIPT), "prepare", str(datadir)], env=None,
              cwd=None, timeout=PREPARE_TIMEOUT, log_path=log_path,
              what="engine db upgrade")
    if rc != 0 or not (datadir / "db.sqlite3").is_file():
        raise _error(f"engine db upgrade in {datadir} failed (exit code {rc})", log_path)
    log.info("engine data dir %s prepared in %.1f s", datadir, time.monotonic() - t0)
    return datadir


def calc_status(datadir: Path, calc_id: int) -> str | None:
    """Status of calc ``calc_id`` in the data dir's database (None if there is no such calc)."""
    db = Path(datadir) / "db.sqlite3"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        row = con.execute("SELECT status FROM job WHERE id = ?", (int(calc_id),)).fetchone()
    finally:
        con.close()
    return row[0] if row else None


_CALC_ID_RE = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:]+ #(\d+) ", re.MULTILINE)


def _copy_inputs(job_ini: Path, datadir: Path) -> Path:
    """Copy the job's folder into the data dir (the engine writes beside its inputs); return the copied ini."""
    inputs = datadir / "inputs"
    inputs.mkdir(exist_ok=True)
    dest = Path(tempfile.mkdtemp(prefix=f"{job_ini.parent.name}-", dir=inputs))
    shutil.copytree(job_ini.parent, dest, dirs_exist_ok=True, copy_function=shutil.copyfile)
    for root, dirs, _files in os.walk(dest):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
    return dest / job_ini.name


def run_calc(datadir: Path, job_ini: Path, *, timeout: float = CALC_TIMEOUT,
             copy_inputs: bool = True) -> int:
    """Run ``oq engine --run job_ini`` on ``datadir``; return the calc id of the completed calc.

    The job's folder is first copied into ``<datadir>/inputs/`` (unless ``copy_inputs=False``).
    Raises EngineError (with the calc log's tail) if it fails or exceeds ``timeout`` seconds.
    """
    t0 = time.monotonic()
    datadir = Path(datadir).resolve()
    if not (datadir / "openquake.cfg").is_file():
        raise EngineError(f"{datadir} is not a prepared data dir (use prepare_datadir)")
    job_ini = Path(job_ini).resolve()
    if not job_ini.is_file():
        raise EngineError(f"no job file {job_ini}")
    if copy_inputs:
        job_ini = _copy_inputs(job_ini, datadir)
    venv = engine_venv()
    log_path = datadir / "logs" / f"calc-{job_ini.parent.name}-{job_ini.stem}.log"
    start = log_path.stat().st_size if log_path.exists() else 0
    rc = _run([str(venv / "bin" / "oq"), "engine", "--run", str(job_ini)],
              env=engine_env(datadir), cwd=datadir, timeout=timeout, log_path=log_path,
              what=f"calculation {job_ini}")
    with open(log_path, "rb") as fh:
        fh.seek(start)
        output = fh.read().decode(errors="replace")
    match = _CALC_ID_RE.search(output)
    if match is None:
        raise _error(f"calculation {job_ini} (exit code {rc}) printed no calc id", log_path)
    calc_id = int(match.group(1))
    status = calc_status(datadir, calc_id)
    if rc != 0 or status != "complete":
        raise _error(f"calculation {calc_id} ({job_ini}) ended with exit code {rc}, "
                     f"status {status!r}", log_path)
    log.info("calc %d (%s) complete in %.1f s", calc_id, job_ini.name, time.monotonic() - t0)
    return calc_id


# ----------------------------------------------------------------------------------------------
# server


_RESTRICTED_SETUP_CODE = r"""
import json, os
import django
django.setup()
from django.core.management import call_command
from django.contrib.auth import get_user_model
call_command("migrate", interactive=False, verbosity=1)
spec = json.loads(os.environ["ICEBOX_OQ_USERS"])
User = get_user_model()
for name, password in spec["users"].items():
    su = name in spec["superusers"]
    user, _ = User.objects.get_or_create(username=name,
                                         defaults={"email": f"{name}@example.org"})
    user.set_password(password)  # no password validators: any test password works
    user.is_superuser = user.is_staff = su
    user.is_active = True
    user.save()
    profile = user.profile          # created by the engine's post_save signal
    profile.level = 2 if su else 0
    profile.save()
    print("user", name, "superuser" if su else "level 0")
"""

_live_servers: set[EngineServer] = set()


@atexit.register
def _stop_leftover_servers() -> None:
    for server in list(_live_servers):
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


class EngineServer:
    """A real engine WebUI/REST server on 127.0.0.1:<free port>, as a context manager.

    ``restricted=True`` sets OQ_APPLICATION_MODE=RESTRICTED, migrates the data dir's db (adds the
    auth tables; a PUBLIC server keeps working on the same db) and creates/updates ``users``
    ({name: password}); names in ``superusers`` (default: ``admin``) become superusers (they see
    every calc), the others level-0 users (they see only their own calcs). Calcs run with
    ``run_calc`` belong to the OS user (``root``).

    ``port``: listen there instead of on a free port. ``start()`` again after ``stop()``/``kill()``
    reuses the same port (same ``url``), e.g. for "engine comes back" tests. Logs go to ``<datadir>/logs/server-<mode>-<port>.log`` (``log_path``).

    Start waits until ``/v1/engine_version`` answers (PUBLIC) or until a login works
    (RESTRICTED; anonymous 403 if no users). ``stop()`` / exit: SIGTERM, then SIGKILL, to the
    server's whole process group (calcs it spawned included). ``kill()``: SIGKILL at once.
    """

    def __init__(self, datadir: Path, *, restricted: bool = False,
                 users: Mapping[str, str] | None = None,
                 superusers: Iterable[str] = ("admin",), port: int | None = None,
                 start_timeout: float = SERVER_START_TIMEOUT) -> None:
        if users and not restricted:
            raise ValueError("users= only makes sense with restricted=True")
        self.datadir = Path(datadir).resolve()
        if not (self.datadir / "openquake.cfg").is_file():
            raise EngineError(f"{self.datadir} is not a prepared data dir (use prepare_datadir)")
        self.restricted = restricted
        self.users: dict[str, str] = dict(users or {})
        self.superusers = frozenset(superusers)
        self.start_timeout = start_timeout
        self.fixed_port = port
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._log_offset = 0
        self.start_seconds: float | None = None

    # -- public API ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        if self.port is None:
            raise EngineError("server not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> EngineServer:
        if self.running:
            raise EngineError(f"server already running at {self.url}")
        self.process = None  # a stopped/killed server can be started again, on the same port
        port = self.fixed_port or self.port
        t0 = time.monotonic()
        venv = engine_venv()
        env = engine_env(self.datadir, restricted=self.restricted)
        mode = "restricted" if self.restricted else "public"
        if self.restricted:
            self._setup_restricted(venv, env)
        for _attempt in range(3):  # a free port can be taken between bind-probe and listen
            self.port = port or _free_port()
            self.log_path = self.datadir / "logs" / f"server-{mode}-{self.port}.log"
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "ab") as out:
                self._log_offset = out.tell()
                self.process = subprocess.Popen(
                    [str(venv / "bin" / "python"), "-m", "openquake.server.manage", "runserver",
                     f"127.0.0.1:{self.port}", "--noreload"],
                    env=env, cwd=self.datadir, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True)
            _live_servers.add(self)
            try:
                self._wait_ready(t0 + self.start_timeout)
            except _PortTaken:
                self._reap()
                if port:
                    raise _error(f"engine server: port {port} is already in use",
                                 self.log_path) from None
                continue
            except BaseException:
                self.stop()
                raise
            break
        else:
            raise _error("engine server: no free port after 3 attempts", self.log_path)
        self.start_seconds = time.monotonic() - t0
        log.info("engine server (%s) at %s ready in %.1f s", mode, self.url, self.start_seconds)
        return self

    def stop(self) -> None:
        """Stop the server and every process of its group (idempotent)."""
        if self.process is not None:
            try:
                _kill_group(self.process)
            finally:
                _live_servers.discard(self)

    def kill(self) -> None:
        """SIGKILL the server and its whole process group at once (simulates an engine crash)."""
        if self.process is not None:
            try:
                _kill_group(self.process, sig=signal.SIGKILL)
            finally:
                _live_servers.discard(self)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return _tail(self.log_path, lines) if self.log_path else ""

    def login(self, username: str, password: str) -> urllib.request.OpenerDirector:
        """urllib opener holding a session of ``username`` (RESTRICTED mode); EngineError on 403."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        data = urllib.parse.urlencode({"username": username, "password": password}).encode()
        try:
            with opener.open(f"{self.url}/accounts/ajax_login/", data=data, timeout=10) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            raise EngineError(f"login of {username!r} refused: HTTP {exc.code}") from None
        return opener

    def __enter__(self) -> EngineServer:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        mode = "restricted" if self.restricted else "public"
        state = "running" if self.running else "stopped"
        return f"<EngineServer {mode} {self.port and self.url} {state} datadir={self.datadir}>"

    # -- internals ----------------------------------------------------------------------------

    def _setup_restricted(self, venv: Path, env: dict[str, str]) -> None:
        site = next((venv / "lib").glob("python3*/site-packages"))
        tdir = site / "openquake" / "server" / "templates" / "registration"
        for tmpl in tdir.glob("*.default.tmpl"):  # normally done by the install script
            target = tdir / tmpl.name.removesuffix(".default.tmpl")
            if not target.exists():
                shutil.copyfile(tmpl, target)
        setup_env = dict(env, DJANGO_SETTINGS_MODULE="openquake.server.settings",
                         ICEBOX_OQ_USERS=json.dumps({"users": self.users,
                                                     "superusers": sorted(self.superusers)}))
        log_path = self.datadir / "logs" / "restricted-setup.log"
        rc = _run([str(venv / "bin" / "python"), "-c", _RESTRICTED_SETUP_CODE], env=setup_env,
                  cwd=self.datadir, timeout=PREPARE_TIMEOUT, log_path=log_path,
                  what="RESTRICTED-mode migrate/users")
        if rc != 0:
            raise _error(f"RESTRICTED-mode setup (migrate, users) failed with exit code {rc}",
                         log_path)

    def _probe(self) -> bool:
        if self.restricted and self.users:
            name = next((u for u in self.users if u in self.superusers), next(iter(self.users)))
            try:
                self.login(name, self.users[name])
                return True
            except EngineError as exc:
                raise _error(f"engine server up but {exc}", self.log_path) from None
        try:
            with urllib.request.urlopen(f"{self.url}/v1/engine_version", timeout=5) as resp:
                body = resp.read().decode(errors="replace").strip()
        except urllib.error.HTTPError as exc:
            if exc.code == 403 and self.restricted:
                return True
            raise _error(f"engine server answered HTTP {exc.code} to /v1/engine_version",
                         self.log_path) from None
        if self.restricted:
            raise _error("RESTRICTED engine server answered an anonymous request", self.log_path)
        if body != ENGINE_VERSION:
            raise _error(f"engine server reports version {body!r}, expected {ENGINE_VERSION}",
                         self.log_path)
        return True

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while True:
            rc = self.process.poll()
            if rc is not None:
                with open(self.log_path, "rb") as fh:
                    fh.seek(self._log_offset)
                    if b"already in use" in fh.read():
                        raise _PortTaken()
                raise _error(f"engine server exited with code {rc} before answering",
                             self.log_path)
            try:
                if self._probe():
                    return
            except (ConnectionError, urllib.error.URLError, socket.timeout, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise _error(f"engine server did not answer within {self.start_timeout:g} s "
                             f"on {self.url}", self.log_path)
            time.sleep(0.2)

    def _reap(self) -> None:
        if self.process is not None:
            _kill_group(self.process, sig=signal.SIGKILL)
            _live_servers.discard(self)
            self.process = None


class _PortTaken(Exception):
    pass
