"""Processes killed with ``kill -9``: Daphne (sockets resume with ``since``), a Celery worker in
the middle of an auction close (the auction ends once, with one order) and the children of
``make run`` (restarted, the rest keeps running). The first two held in issue 14's experiments;
these keep them from regressing. The third was row 1's second half."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from auctions import services as auction_services
from auctions.models import Auction, AuctionStatus
from auctions.tasks import auctions_tick, close_auction
from commerce.orders.models import Order
from core.celery import app as celery_app
from realtime import outbox
from realtime.models import OutboxEvent
from tests.chaos.infra import CeleryWorker, child_processes, status_of, wait_until
from tests.conftest import tokens_for
from tests.factories.auctions import bidder, live_auction
from tests.factories.core import UserFactory
from tests.live import ROOT, LiveServer, WSClient, free_port, subprocess_env
from tests.realtime.probes import ProbeTick

pytestmark = [pytest.mark.live, pytest.mark.chaos]


def publish(topic: str, i: int) -> None:
    with transaction.atomic():
        outbox.publish(topic=topic, event=ProbeTick.build(i=i))


def test_daphne_killed_every_socket_resumes_with_recovered_true_and_no_gap(transactional_db, tmp_path):
    users = [UserFactory(), UserFactory()]
    topics = [f"user:{u.pk}" for u in users]
    first = LiveServer(tmp_path / "first.log")
    clients = []  # (user index, client, last seq)
    try:
        for n in range(20):
            k = n % 2
            client = WSClient(first.ws_url)
            client.auth(tokens_for(users[k])["access"])
            assert client.request("subscribe", topic=topics[k])["status"] == "ok"
            clients.append([k, client, 0])
        for i in range(3):
            for topic in topics:
                publish(topic, i)
        for entry in clients:
            k, client, _ = entry
            seqs = [client.next_event(topics[k], timeout=10)["seq"] for _ in range(3)]
            assert seqs == list(range(seqs[0], seqs[0] + 3))
            entry[2] = seqs[-1]
        first.proc.send_signal(signal.SIGKILL)  # kill -9: no close frames, no clean-up
        first.proc.wait(10)
    finally:
        first.stop()
    for i in range(3, 7):  # published while no gateway runs: kept in the topics' history
        for topic in topics:
            publish(topic, i)

    second = LiveServer(tmp_path / "second.log")
    try:
        resumed = []
        for k, _, last in clients:
            client = WSClient(second.ws_url)
            client.auth(tokens_for(users[k])["access"])
            reply = client.request("subscribe", topic=topics[k], since=last)
            assert reply["status"] == "ok" and reply["data"]["recovered"] is True, reply
            replayed = [client.next_event(topics[k], timeout=10) for _ in range(4)]
            assert [e["seq"] for e in replayed] == list(range(last + 1, last + 5))  # exactly what was missed
            assert [e["data"]["i"] for e in replayed] == [3, 4, 5, 6]
            resumed.append((k, client, last + 4))
        for topic in topics:
            publish(topic, 7)
        for k, client, last in resumed:
            assert client.next_event(topics[k], timeout=10)["seq"] == last + 1  # live again, no gap
        assert "Traceback" not in second.log()
    finally:
        second.stop()


def test_worker_killed_during_an_auction_close_ends_it_exactly_once_with_one_order(transactional_db, tmp_path):
    """The close runs in one transaction under the auction's row lock: a worker killed inside
    it commits nothing, and the next closer (the beat's ``auctions_tick``) ends it once."""
    auction = live_auction(start="10.00")
    winner = bidder()
    auction_services.auction_place_bid(auction_id=auction.pk, bidder=winner, max_amount=Decimal("25.00"))
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(starts_at=now - timedelta(seconds=10), ends_at=now - timedelta(seconds=1))
    queue = f"chaos-{uuid.uuid4().hex[:8]}"
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:  # so that the worker's close waits inside its transaction
        try:
            with transaction.atomic():
                Auction.objects.select_for_update().get(pk=auction.pk)
                locked.set()
                release.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    conf = celery_app.conf
    eager, conf.task_always_eager = conf.task_always_eager, False
    workers = []
    try:
        assert locked.wait(10)
        workers.append(CeleryWorker(tmp_path / "worker1.log", queue=queue))
        close_auction.apply_async(args=[str(auction.pk)], queue=queue)

        def close_is_waiting() -> bool:
            with connection.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock' AND query ILIKE '%%auctions_auction%%'")
                return cur.fetchone()[0] >= 1

        wait_until(close_is_waiting, timeout=30, what="the worker's close waiting on the row lock")
        workers[0].kill9()
        release.set()
        holder.join(10)
        auction.refresh_from_db()
        assert auction.status == AuctionStatus.LIVE  # the killed close committed nothing

        workers.append(CeleryWorker(tmp_path / "worker2.log", queue=queue))
        auctions_tick.apply_async(queue=queue)  # what beat sends every second
        wait_until(lambda: Auction.objects.get(pk=auction.pk).status == AuctionStatus.ENDED, timeout=30,
                   what="the auction closed by the next closer")
        close_auction.apply_async(args=[str(auction.pk)], queue=queue)  # a late duplicate does nothing
        wait_until(lambda: workers[1].log().count("succeeded") >= 2, timeout=30, what="both tasks done")
    finally:
        release.set()
        conf.task_always_eager = eager
        for worker in workers:
            worker.stop()
    auction.refresh_from_db()
    assert auction.result == "sold" and auction.final_price == Decimal("10.00")
    assert Order.objects.filter(buyer=winner).count() == 1
    assert OutboxEvent.objects.filter(topic=f"auction:{auction.pk}", type="auction.closed").count() == 1


def test_make_run_restarts_killed_children_and_keeps_the_stack_up(transactional_db, tmp_path):
    """``scripts/run.py`` (``make run``) against the test database and Redis: the worker and then
    Daphne are killed with ``kill -9``; each is restarted after its back-off while the others keep
    running, and Ctrl-C still stops everything cleanly."""
    port = free_port()
    env = subprocess_env(DJANGO_SETTINGS_MODULE="core.settings", PORT=str(port), RUN_SEED_DEMO="0",
                         EMBEDDED_DATA_DIR=str(tmp_path / "data"), NO_COLOR="1", RUN_HEALTH_TIMEOUT="120")
    env.pop("TEST_SERVER_PROCESS")
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        run = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run.py")], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    text = lambda: log_path.read_text(errors="replace")  # noqa: E731
    try:
        wait_until(lambda: "Marketplace is up" in text() or run.poll() is not None, timeout=150, what="make run")
        assert run.poll() is None, text()[-4000:]

        def child(name: str) -> int:
            for pid, cmd in child_processes(run.pid):
                if (name == "worker" and " worker " in cmd) or (name == "web" and "realtime.daphne" in cmd):
                    return pid
            raise AssertionError(f"no {name} child")

        for name in ("worker", "web"):
            victim = child(name)
            os.killpg(victim, signal.SIGKILL)
            wait_until(lambda: f"{name} restarted" in text(), timeout=30, what=f"{name} restarted")
            assert f"{name} (pid {victim}) exited with code -9" in text()
            assert child(name) != victim
        wait_until(lambda: status_of(f"http://127.0.0.1:{port}/health/") == 200, timeout=60,
                   what="the restarted web answering")
        wait_until(lambda: text().split("worker restarted")[-1].count(" ready.") >= 1, timeout=60,
                   what="the restarted worker ready")
        assert "stopping the others" not in text()

        run.send_signal(signal.SIGTERM)
        assert run.wait(60) == 0, text()[-4000:]
        assert text().rstrip().endswith("stopped")
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(10)
