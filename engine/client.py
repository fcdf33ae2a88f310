"""All outbound HTTP of Icebox: the one module that talks to OpenQuake engine servers.

Guards, each for a reason:
- only servers of the allow-list are ever contacted: a client is built from an
  `EngineServerConfig`, and paths, not URLs, are requested from it;
- redirects are followed by hand and only to the same scheme, host and port, so that an engine
  (or whatever answers on its port) cannot send Icebox to another host;
- connect and read timeouts on every request, a byte cap on every body, downloads streamed to
  a temporary file rather than held in memory;
- `trust_env = False`: no proxy from the environment and no ~/.netrc credentials sneak in;
- the password is sent only in the login form body, and no message names anything but the
  server's `base_url` (no userinfo) and the user name.
Failures become the typed errors of `engine.exceptions`, with a sentence a person can act on.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from engine.exceptions import (
    CalcNotFound,
    DownloadTooLarge,
    EngineBadResponse,
    EngineForbidden,
    EngineHTTPError,
    EngineRedirectRefused,
    EngineRefusedLogin,
    EngineRunRefused,
    EngineUnreachable,
)
from engine.servers import EngineServerConfig

MAX_REDIRECTS = 3
# JSON and npz answers (calc info, outputs list, oqparam) are small; this only stops a runaway.
MAX_SMALL_BODY_BYTES = 32 * 1024 * 1024
_CHUNK = 1 << 16
_FILENAME_RE = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)
_TITLE_RE = re.compile(rb"<title>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Download:
    path: Path  # a temporary file the caller must remove
    file_name: str  # from Content-Disposition, e.g. output-9-hcurves-csv.zip
    size: int
    sha256: str | None = None  # of the bytes, computed as they arrived (the blob store's key)


class EngineClient:
    """A session with one allow-listed engine server. Use as a context manager."""

    def __init__(
        self,
        server: EngineServerConfig,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_download_bytes: int,
    ):
        self.server = server
        self.base = server.base_url
        self.timeout = (connect_timeout, read_timeout)
        self.max_download_bytes = max_download_bytes
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["User-Agent"] = "Icebox"
        self._logged_in = False

    @classmethod
    def from_settings(cls, server: EngineServerConfig) -> EngineClient:
        return cls(
            server,
            connect_timeout=settings.ICEBOX_ENGINE_CONNECT_TIMEOUT,
            read_timeout=settings.ICEBOX_ENGINE_READ_TIMEOUT,
            max_download_bytes=settings.ICEBOX_ENGINE_MAX_DOWNLOAD_BYTES,
        )

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.session.close()

    # -- the engine API Icebox uses -----------------------------------------------------------

    def login(self) -> None:
        """RESTRICTED-mode session login, if the server is configured with credentials."""
        if self.server.username is None or self._logged_in:
            return
        what = f"the login of user {self.server.username!r}"
        response = self._send(
            "POST",
            "/accounts/ajax_login/",
            data={"username": self.server.username, "password": self.server.password},
            what=what,
        )
        with response:
            if response.status_code in (401, 403):
                raise EngineRefusedLogin(f"engine at {self.base} refused the login for user {self.server.username!r}")
            self._check(response, what=what)
        self._logged_in = True

    def engine_version(self) -> str:
        with self._get("/v1/engine_version", what="the engine version") as response:
            text = self._read_small(response, what="the engine version").decode("utf-8", "replace").strip()
        if not text or len(text) > 50:
            raise EngineBadResponse(f"engine at {self.base} answered {text[:50]!r} as its version")
        return text

    def calc_status(self, calc_id: int) -> dict:
        """`/v1/calc/ID/status`: status, description, calculation_mode... (404 -> CalcNotFound)."""
        return self._get_json(f"/v1/calc/{int(calc_id)}/status", what=f"calc {calc_id}", calc_id=calc_id)

    def calc_info(self, calc_id: int) -> dict:
        """`/v1/calc/ID`: the database row, with start_time and stop_time."""
        return self._get_json(f"/v1/calc/{int(calc_id)}", what=f"calc {calc_id}", calc_id=calc_id)

    def calc_list(self) -> list[dict]:
        """`/v1/calc/list`: every calc the engine user may see (id, status, description, ...)."""
        calcs = self._get_json("/v1/calc/list", what="the calculation list")
        if not isinstance(calcs, list) or not all(isinstance(c, dict) and "id" in c for c in calcs):
            raise EngineBadResponse(f"engine at {self.base} answered a calculation list Icebox cannot read")
        return calcs

    def calc_traceback(self, calc_id: int) -> list[str]:
        """`/v1/calc/ID/traceback`: the lines of a failed calc's traceback (empty if none)."""
        lines = self._get_json(f"/v1/calc/{int(calc_id)}/traceback", what=f"the traceback of calc {calc_id}", calc_id=calc_id)
        return [str(line) for line in lines] if isinstance(lines, list) else []

    def submit(self, archive: Path, *, job_ini: str, hazard_job_id: int | None = None) -> dict:
        """`POST /v1/calc/run` with the zip of a job: the new calc's row (`job_id`, `status`).

        The engine refuses inputs it cannot read with a 500 and the traceback as JSON: that is
        EngineRunRefused with the traceback's lines, and the failed calc's id when it made one.
        """
        data = {"job_ini": job_ini}
        if hazard_job_id is not None:
            data["hazard_job_id"] = str(int(hazard_job_id))
        what = "the submission of a job"
        self.login()
        with archive.open("rb") as stream:
            response = self._send("POST", "/v1/calc/run", data=data, files={"archive": (archive.name, stream, "application/zip")}, what=what)
        with response:
            if response.status_code == 500:
                body = self._read_small(response, what=what)
                try:
                    answer = json.loads(body)
                except ValueError:
                    answer = None
                if isinstance(answer, dict) and isinstance(answer.get("traceback"), list):
                    lines = [str(line) for line in answer["traceback"]]
                    last = next((line.strip() for line in reversed(lines) if line.strip()), "no reason given")
                    job_id = answer.get("job_id") if isinstance(answer.get("job_id"), int) else None
                    raise EngineRunRefused(f"engine at {self.base} refused the job: {last}", traceback=lines, calc_id=job_id)
            self._check(response, what=what)
            body = self._read_small(response, what=what)
        try:
            row = json.loads(body)
        except ValueError:
            row = None
        if not isinstance(row, dict) or not isinstance(row.get("job_id"), int) or isinstance(row.get("job_id"), bool):
            raise EngineBadResponse(f"engine at {self.base} answered the submission of a job without the new calc's job_id")
        return row

    def results(self, calc_id: int) -> list[dict]:
        outputs = self._get_json(f"/v1/calc/{int(calc_id)}/results", what=f"the outputs of calc {calc_id}", calc_id=calc_id)
        if not isinstance(outputs, list) or not all(isinstance(o, dict) and "id" in o and "type" in o for o in outputs):
            raise EngineBadResponse(f"engine at {self.base} answered an outputs list of calc {calc_id} Icebox cannot read")
        return outputs

    def oqparam(self, calc_id: int) -> dict:
        """The job parameters, from `/extract/oqparam` (an npz whose `json` holds a JSON text)."""
        import numpy  # only workers need it; keeps `import engine.client` light for the web process

        what = f"the job parameters of calc {calc_id}"
        with self._get(f"/v1/calc/{int(calc_id)}/extract/oqparam", what=what, calc_id=calc_id) as response:
            body = self._read_small(response, what=what)
        try:
            with numpy.load(io.BytesIO(body), allow_pickle=False) as npz:
                raw = npz["json"]
            text = raw.item() if raw.shape == () else raw.tobytes()
            if isinstance(text, bytes):
                text = text.decode("utf-8")
            params = json.loads(text)
        except Exception as exc:  # noqa: BLE001 - any failure here means "not the npz the engine sends"
            raise EngineBadResponse(f"engine at {self.base} sent {what} in a form Icebox cannot read ({type(exc).__name__})") from None
        if not isinstance(params, dict):
            raise EngineBadResponse(f"engine at {self.base} sent {what} as JSON that is not an object")
        return params

    def download(
        self,
        *,
        calc_id: int,
        output_id: int,
        dest_dir: str | Path,
        export_type: str = "csv",
        on_size: Callable[[int | None], None] | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> Download:
        """Stream the export of one output to a temporary file in `dest_dir`, never more than max_download_bytes.

        `export_type` is one of the output's `outtypes` (csv, zip, rst, npz, xml...). `dest_dir` is
        the caller's: a directory of icebox.tempfiles, so that what a killed worker leaves is swept.
        """
        return self._download(
            f"/v1/calc/result/{int(output_id)}",
            params={"export_type": export_type},
            what=f"output {output_id} of calc {calc_id}",
            calc_id=calc_id,
            output_id=output_id,
            limit=self.max_download_bytes,
            default_name=f"output-{output_id}.{export_type}",
            dest_dir=dest_dir,
            on_size=on_size,
            on_bytes=on_bytes,
        )

    def datastore(
        self,
        *,
        calc_id: int,
        dest_dir: str | Path,
        max_bytes: int,
        on_size: Callable[[int | None], None] | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> Download:
        """Stream the calc's HDF5 datastore (`/v1/calc/ID/datastore`), never more than `max_bytes`."""
        return self._download(
            f"/v1/calc/{int(calc_id)}/datastore",
            params=None,
            what=f"the datastore of calc {calc_id}",
            calc_id=calc_id,
            output_id=None,
            limit=max_bytes,
            default_name=f"calc_{int(calc_id)}.hdf5",
            dest_dir=dest_dir,
            on_size=on_size,
            on_bytes=on_bytes,
        )

    def _download(self, path: str, *, params, what: str, calc_id, output_id, limit: int, default_name: str,
                  dest_dir, on_size, on_bytes) -> Download:
        response = self._get(path, params=params, what=what, calc_id=calc_id, output_id=output_id, stream=True)
        with response:
            announced = response.headers.get("Content-Length")
            if announced and announced.isdigit() and int(announced) > limit:
                raise DownloadTooLarge(f"{what} at {self.base} is {announced} bytes, over the download limit of {limit} bytes")
            if on_size is not None:
                on_size(int(announced) if announced and announced.isdigit() else None)
            file_name = _file_name(response.headers.get("Content-Disposition"), default_name)
            handle = tempfile.NamedTemporaryFile(prefix="icebox-engine-", suffix=".download", dir=dest_dir, delete=False)
            path = Path(handle.name)
            size = 0
            digest = hashlib.sha256()
            try:
                with handle:
                    for chunk in response.iter_content(_CHUNK):
                        size += len(chunk)
                        if size > limit:
                            raise DownloadTooLarge(f"{what} at {self.base} is over the download limit of {limit} bytes")
                        handle.write(chunk)
                        digest.update(chunk)
                        if on_bytes is not None:
                            on_bytes(len(chunk))
            except requests.Timeout:
                path.unlink(missing_ok=True)
                raise EngineUnreachable(
                    f"engine at {self.base} stopped sending {what} (no data for {self.timeout[1]:g} s after {size} bytes)"
                ) from None
            except requests.RequestException:
                path.unlink(missing_ok=True)
                raise EngineUnreachable(f"engine at {self.base} broke off while sending {what} (after {size} bytes)") from None
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        return Download(path=path, file_name=file_name, size=size, sha256=digest.hexdigest())

    # -- transport ------------------------------------------------------------------------------

    def _get_json(self, path: str, *, what: str, calc_id: int | None = None):
        with self._get(path, what=what, calc_id=calc_id) as response:
            body = self._read_small(response, what=what)
        try:
            return json.loads(body)
        except ValueError:
            raise EngineBadResponse(f"engine at {self.base} answered {what} with something that is not JSON") from None

    def _get(self, path: str, *, what: str, calc_id=None, output_id=None, params=None, stream=False) -> requests.Response:
        self.login()
        response = self._send("GET", path, params=params, what=what, stream=True)
        try:
            self._check(response, what=what, calc_id=calc_id, output_id=output_id)
        except BaseException:
            response.close()
            raise
        return response

    def _send(self, method: str, path: str, *, what: str, params=None, data=None, files=None, stream: bool = True) -> requests.Response:
        url = self.base + path
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                response = self.session.request(
                    method, url, params=params, data=data, files=files, timeout=self.timeout, allow_redirects=False, stream=stream
                )
            except requests.Timeout:
                raise EngineUnreachable(
                    f"engine at {self.base} did not answer in time for {what} "
                    f"(connect timeout {self.timeout[0]:g} s, read timeout {self.timeout[1]:g} s)"
                ) from None
            except requests.RequestException:
                raise EngineUnreachable(f"engine at {self.base} cannot be reached (asking for {what}): is it running?") from None
            if not response.is_redirect:
                return response
            location = response.headers.get("Location", "")
            response.close()
            target = urljoin(url, location)
            if not self._same_server(target):
                raise EngineRedirectRefused(
                    f"engine at {self.base} redirected the request for {what} to another server; Icebox does not follow it"
                )
            url, params = target, None
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, data, files = "GET", None, None
        raise EngineBadResponse(f"engine at {self.base} redirected the request for {what} more than {MAX_REDIRECTS} times")

    def _same_server(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:
            return False
        if "@" in parts.netloc or not parts.hostname:
            return False
        return (parts.scheme, parts.hostname.lower(), port) == self.server.key

    def _check(self, response: requests.Response, *, what: str, calc_id=None, output_id=None) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 404 and output_id is not None:
            raise CalcNotFound(f"engine at {self.base} answered 404 for output {output_id} of calc {calc_id}: no such output")
        if status == 404 and calc_id is not None:
            # A RESTRICTED engine answers 404, not 403, for another engine user's calc.
            visible = f" visible to user {self.server.username!r}" if self.server.username else ""
            raise CalcNotFound(f"engine at {self.base} answered 404 for calc {calc_id}: no such calculation{visible}")
        if status in (401, 403):
            if self.server.username is None:
                raise EngineForbidden(
                    f"engine at {self.base} answered {status} for {what}: it wants a login "
                    "(give user:password for it in ICEBOX_ENGINE_SERVERS)"
                )
            raise EngineForbidden(f"engine at {self.base} answered {status} for {what}: user {self.server.username!r} may not read it")
        detail = _first_line(response)
        raise EngineHTTPError(f"engine at {self.base} answered {status} for {what}" + (f": {detail}" if detail else ""), status=status)

    def _read_small(self, response: requests.Response, *, what: str) -> bytes:
        buffer = bytearray()
        try:
            for chunk in response.iter_content(_CHUNK):
                buffer += chunk
                if len(buffer) > MAX_SMALL_BODY_BYTES:
                    raise EngineBadResponse(f"engine at {self.base} sent more than {MAX_SMALL_BODY_BYTES} bytes for {what}")
        except requests.Timeout:
            raise EngineUnreachable(f"engine at {self.base} stopped sending {what}") from None
        except requests.RequestException:
            raise EngineUnreachable(f"engine at {self.base} broke off while sending {what}") from None
        return bytes(buffer)


def _first_line(response: requests.Response) -> str:
    """What went wrong, from the engine's 500 page: `KeyError: ...` for text, the title for HTML."""
    try:
        head = next(response.iter_content(8192), b"")
    except requests.RequestException:
        return ""
    if b"<html" in head[:500].lower() or b"<!doctype" in head[:500].lower():
        match = _TITLE_RE.search(head)
        text = match[1].decode("utf-8", "replace") if match else ""
    else:
        text = next((line for line in head.decode("utf-8", "replace").splitlines() if line.strip()), "")
    text = " ".join(text.split())
    return text[:300] + ("…" if len(text) > 300 else "")


def _file_name(disposition: str | None, default: str) -> str:
    match = _FILENAME_RE.search(disposition or "")
    name = PurePosixPath(match[1].replace("\\", "/")).name if match else ""
    return name if name and name not in (".", "..") else default
