"""The test helper that waits for a real server to serve (tests/web_server.py)."""

import subprocess
import sys
import textwrap

import pytest

from tests.processes import free_port
from tests.web_server import PROBE_TIMEOUT, wait_until_serving

# A server whose first answer takes longer than one probe used to allow (2 s): a worker loading
# the application on a slow machine. It listens at once, then answers the first request late.
SLOW_FIRST_ANSWER = textwrap.dedent("""
    import http.server, sys, time
    first = [True]
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if first[0]:
                first[0] = False
                time.sleep(float(sys.argv[2]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        def log_message(self, *args):
            pass
    class Server(http.server.HTTPServer):
        def handle_error(self, request, client_address):
            pass  # a probe that gave up mid-wait resets its connection: expected here, not news
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
""")


@pytest.fixture
def server():
    started = []

    def start(*args):
        process = subprocess.Popen([sys.executable, "-c", *args])
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


def test_a_server_slow_to_give_its_first_answer_is_waited_for(server):
    port = free_port()
    process = server(SLOW_FIRST_ANSWER, str(port), "3")
    assert PROBE_TIMEOUT > 3
    wait_until_serving(f"http://127.0.0.1:{port}/", process, timeout=60)
    assert process.poll() is None


def test_a_server_that_exits_is_reported_at_once(server):
    process = server("import sys; sys.exit(3)")
    with pytest.raises(RuntimeError, match="exited with 3"):
        wait_until_serving(f"http://127.0.0.1:{free_port()}/", process, timeout=60)


def test_a_server_that_never_answers_is_reported_after_the_timeout(server):
    process = server("import time; time.sleep(600)")
    with pytest.raises(RuntimeError, match="did not answer"):
        wait_until_serving(f"http://127.0.0.1:{free_port()}/", process, timeout=0.5)
