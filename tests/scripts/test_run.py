"""``scripts/run.py`` (``make run``): which child lines it hides without ``RUN_VERBOSE=1``, and
the URLs its banner prints. (Its supervision of the children is tested live in
``tests/chaos/test_process_kills.py``.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from django.conf import settings

RUN = Path(__file__).resolve().parents[2] / "scripts" / "run.py"


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("make_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hidden_beat_entries_are_the_ones_that_run_every_second_or_two(run):
    frequent = {name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
                if isinstance(entry["schedule"], (int, float)) and entry["schedule"] <= 2}
    assert run.FREQUENT_BEAT == frequent
    assert {"auctions-tick", "delivery-tick", "realtime-outbox-sweep"} <= set(frequent)


@pytest.mark.parametrize("line", [
    "[2026-11-24 10:00:00,001: INFO/MainProcess] Scheduler: Sending due task auctions-tick (auctions.tasks.auctions_tick)",
    "[2026-11-24 10:00:00,001: INFO/MainProcess] Scheduler: Sending due task delivery-tick (delivery.tasks.deliveries_tick)",
    "[2026-11-24 10:00:00,001: INFO/MainProcess] Scheduler: Sending due task realtime-outbox-sweep (realtime.tasks.sweep_outbox)",
    "[2026-11-24 10:00:00,010: INFO/MainProcess] Task auctions.tasks.auctions_tick[5b1e-41] received",
    "[2026-11-24 10:00:00,020: INFO/ForkPoolWorker-1] Task auctions.tasks.auctions_tick[5b1e-41] succeeded in "
    "0.0093s: {'started': 0, 'closed': 0, 'ending_soon': 0}",
    "[2026-11-24 10:00:00,020: INFO/ForkPoolWorker-2] Task delivery.tasks.deliveries_tick[77-a] succeeded in "
    "0.004s: {'flushed': 0, 'stale': 0}",
    "[2026-11-24 10:00:00,020: INFO/ForkPoolWorker-2] Task realtime.tasks.sweep_outbox[9c] succeeded in 0.002s: 0",
])
def test_idle_ticks_are_hidden(run, line):
    assert run.QUIET.search(line)


@pytest.mark.parametrize("line", [
    "[2026-11-24 10:00:00,020: INFO/ForkPoolWorker-1] Task auctions.tasks.auctions_tick[5b1e-41] succeeded in "
    "0.0093s: {'started': 0, 'closed': 1, 'ending_soon': 0}",
    "[2026-11-24 10:00:00,020: INFO/ForkPoolWorker-2] Task delivery.tasks.deliveries_tick[77-a] succeeded in "
    "0.004s: {'flushed': 2, 'stale': 0}",
    "[2026-11-24 10:00:00,020: INFO/ForkPoolWorker-2] Task realtime.tasks.sweep_outbox[9c] succeeded in 0.002s: 3",
    "[2026-11-24 10:00:00,001: INFO/MainProcess] Scheduler: Sending due task commerce-expire-reservations "
    "(commerce.tasks.expire_reservations_sweep)",
    "[2026-11-24 10:00:00,020: ERROR/ForkPoolWorker-1] Task auctions.tasks.auctions_tick[5b1e-41] raised "
    "unexpected: OperationalError('connection refused')",
    "[2026-11-24 10:00:00,020: INFO/ForkPoolWorker-1] Task notifications.tasks.send_email[1] succeeded in 0.1s: 0",
])
def test_ticks_that_did_something_and_every_other_line_are_shown(run, line):
    assert not run.QUIET.search(line)


def test_the_banner_prints_the_console_with_the_other_urls(run, monkeypatch):
    printed: list[str] = []
    monkeypatch.setattr(run, "say", lambda name, line: printed.append(line))
    monkeypatch.setenv("PORT", "8123")
    run.Supervisor().banner({"accounts": {}, "seed": "skipped"}, "embedded", 1.0)
    urls = {line.split()[0]: line.split()[-1] for line in printed if "http://" in line or "ws://" in line}
    assert urls["Console"] == "http://127.0.0.1:8123/console/"
    assert urls["Admin"] == "http://127.0.0.1:8123/admin/"
    assert "ws://127.0.0.1:8123/ws/" in urls.values()
