"""WebSocket protocol conformance of the server the gateway ships on (Daphne through
``realtime.daphne``): the Autobahn TestSuite cases, run by ``kosoku`` (``bench/conformance.py``)
against the test-only echo endpoint ``/ws/echo/``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from websockets.sync.client import connect

from tests.live import ROOT

pytestmark = pytest.mark.live


def run_cases(url: str) -> dict:
    cmd = [sys.executable, str(ROOT / "bench" / "conformance.py"), url, "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.stdout.strip(), out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_autobahn_case_passes_on_the_gateway_server(live_server_process):
    """247 cases (all but 9.* large messages, 12.*/13.* compression). Plain Daphne fails four:
    1.1.1, 1.2.1, 6.1.1 and 6.1.2, because it drops zero-length messages."""
    result = run_cases(live_server_process.ws_url + "echo/")
    assert result["failed"] == []
    assert result["passed"] == result["total"] == 247


def test_zero_length_messages_are_echoed(live_server_process):
    with connect(live_server_process.ws_url + "echo/") as ws:
        ws.send("")
        assert ws.recv(timeout=5) == ""
        ws.send(b"")
        assert ws.recv(timeout=5) == b""
        ws.send("after")
        assert ws.recv(timeout=5) == "after"


def test_echo_endpoint_is_not_routed_by_production_settings():
    """``/ws/echo/`` exists only where WS_ECHO_ENDPOINT is set (test and bench settings)."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'core.settings'; django.setup();"
        "from django.conf import settings; import core.asgi as a;"
        "print(settings.WS_ECHO_ENDPOINT, [str(r.pattern) for r in a.websocket_routes])"
    )
    from tests.live import subprocess_env

    env = subprocess_env(DJANGO_SETTINGS_MODULE="core.settings")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False ['ws/']"


