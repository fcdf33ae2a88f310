"""A tiny stand-in for an engine server (http.server in a thread on 127.0.0.1), serving the real
responses and exports captured from engine 3.26.2 (fixtures/engine/responses, fixtures/).

Every route can be replaced to produce the engine's error shapes; `connections` counts TCP
connections accepted, so a test can prove that no request was sent at all.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import numpy

from tests.conftest import FIXTURES

RESPONSES = FIXTURES / "engine" / "responses"
CALC = 2
# Output id -> the export the real engine sent for calc 2 (fixtures/README.md).
# The full report and the site model are those of the same job run again as calc 1 (fixtures/README.md).
EXPORTS = {
    8: "calc1_output-1-report_1.rst",
    9: "calc2_output-9-hcurves-csv.zip",
    10: "calc2_output-10-hmaps-csv.zip",
    11: "calc2_output-11-hmaps-stats-csv.zip",
    12: "calc2_output-12-realizations_2.csv",
    13: "calc1_output-6-site_model_1.csv",
    14: "calc2_output-14-uhs-csv.zip",
}
# The hazard CSVs inside the zips: 6 kinds (3 rlzs, mean, 2 quantiles) x 3 IMTs of curves, 6 maps,
# 3 map statistics, 6 spectra; the site model; and the realizations (an engine table).
PARSED_ARTIFACTS = 18 + 6 + 3 + 6 + 1 + 1
# Every output is kept: the report as a raw file.
EXPECTED_ARTIFACTS = PARSED_ARTIFACTS + 1


class Reply:
    def __init__(self, status=200, body: bytes = b"", headers: dict | None = None, *, chunks=None, delay: float = 0.0):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.chunks = chunks  # iterable of bytes: sent without Content-Length, then the connection closes
        self.delay = delay


Route = Callable[[BaseHTTPRequestHandler], Reply] | Reply


def oqparam_npz(params: dict) -> bytes:
    buffer = io.BytesIO()
    numpy.savez(buffer, json=numpy.array(json.dumps(params).encode()), extra=numpy.array(["value"]))
    return buffer.getvalue()


def _json(name: str) -> Reply:
    return Reply(200, (RESPONSES / name).read_bytes(), {"Content-Type": "application/json"})


def export_reply(output_id: int) -> Reply:
    name = EXPORTS[output_id]
    data = (FIXTURES / name).read_bytes()
    # As the engine sends them: zips as application/x-zip, single CSV or rst files as text/plain.
    content_type = "application/x-zip" if name.endswith(".zip") else "text/plain"
    return Reply(200, data, {"Content-Type": content_type, "Content-Disposition": f"attachment; filename={name.split('_', 1)[1]}"})


class FakeEngine:
    def __init__(self, *, users: dict[str, str] | None = None):
        self.users = users or {}
        self.requests: list[tuple[str, str]] = []
        self.login_forms: list[dict] = []
        self.connections = 0
        self.routes: dict[str, Route] = {
            "/v1/engine_version": Reply(200, b"3.26.2", {"Content-Type": "text/html; charset=utf-8"}),
            f"/v1/calc/{CALC}/status": _json("calc_2_status.json"),
            f"/v1/calc/{CALC}": _json("calc_2.json"),
            f"/v1/calc/{CALC}/results": _json("calc_2_results.json"),
            f"/v1/calc/{CALC}/extract/oqparam": Reply(
                200, oqparam_npz({"description": "Vancouver", "poes": [0.002105], "quantiles": [0.15, 0.85]}), {"Content-Type": "application/x-zip"}
            ),
            **{f"/v1/calc/result/{oid}": export_reply(oid) for oid in EXPORTS},
        }
        engine = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                engine.connections += 1
                return True

        self.server = Server(("127.0.0.1", 0), _make_handler(self))
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeEngine:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [path for _method, path in self.requests]


def _make_handler(engine: FakeEngine):
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def _serve(self, method):
            path = urlsplit(self.path).path
            engine.requests.append((method, self.path))
            length = int(self.headers.get("Content-Length") or 0)
            self.form = parse_qs(self.rfile.read(length).decode()) if length else {}
            if path == "/accounts/ajax_login/" and method == "POST":
                form = {k: v[0] for k, v in self.form.items()}
                engine.login_forms.append(form)
                if engine.users.get(form.get("username")) == form.get("password") and form.get("username"):
                    return self._send(Reply(200, b"Successful login", {"Set-Cookie": "sessionid=s3cret-session; Path=/"}))
                return self._send(Reply(403, b"Invalid login"))
            if engine.users and "sessionid=s3cret-session" not in (self.headers.get("Cookie") or ""):
                return self._send(Reply(403, b"", {"Content-Type": "text/html; charset=utf-8"}))
            route = engine.routes.get(path)
            if route is None:
                return self._send(Reply(404, b"", {"Content-Type": "text/html; charset=utf-8"}))
            self._send(route(self) if callable(route) else route)

        def _send(self, reply: Reply):
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if reply.chunks is not None:
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for chunk in reply.chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

    return _Handler


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
