"""No memory growth per connection (issue 14, row 10): 3,000 authenticated, subscribed
connections open and close against one Daphne process; its RSS stays flat.

Before the fix every closed connection left reference cycles that the tuned garbage collector
(thresholds ``100000,50,100`` plus ``gc.freeze()``) practically never collected: Daphne's RSS grew
linearly, 6.8 KB per closed connection with ``DEBUG=0`` in ``bench/memory_churn.py`` (8.9 KB with
``DEBUG=1``; the issue measured 9.6 / 26 KB). After it the slope is about 0.2 KB. The bound below,
2 KB per connection over 3,000 connections after a warm-up, is ten times what is measured now and
well under a third of the old growth; it is a memory bound, not a timing one.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import tokens_for
from tests.factories.core import UserFactory
from tests.live import LiveServer, churn_connections, process_rss_kb

pytestmark = [pytest.mark.live, pytest.mark.chaos]

WARMUP, CONNECTIONS, ROUNDS = 300, 3000, 6
BOUND_KB_PER_CONNECTION = 2.0


def test_three_thousand_closed_connections_leave_daphne_rss_flat(transactional_db, tmp_path):
    user = UserFactory()
    token, topic = tokens_for(user)["access"], f"user:{user.pk}"
    # DEBUG=0 as in production: with DEBUG Django also keeps the last 9,000 queries per connection
    server = LiveServer(tmp_path / "daphne.log", launcher="realtime.daphne", DEBUG="0")
    try:
        churn_connections(server.ws_url, token=token, topic=topic, n=WARMUP)
        time.sleep(2)  # Daphne cleans up closed connections once a second
        start = process_rss_kb(server.proc.pid)
        samples = []
        for _ in range(ROUNDS):
            churn_connections(server.ws_url, token=token, topic=topic, n=CONNECTIONS // ROUNDS)
            time.sleep(2)
            samples.append(process_rss_kb(server.proc.pid))
        growth_per_connection = (samples[-1] - start) / CONNECTIONS
        print(f"Daphne RSS {start} KB -> {samples} KB: {growth_per_connection:.2f} KB per closed connection")
        assert growth_per_connection < BOUND_KB_PER_CONNECTION, (start, samples)
        assert "Traceback" not in server.log()
    finally:
        server.stop()
