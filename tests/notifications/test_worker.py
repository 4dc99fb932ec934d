"""The email task through a real Celery worker process and the Redis broker (not eager)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from django.db import transaction

from notifications.models import NotificationDelivery
from notifications.tasks import send_notification_email
from realtime.streams import sync_client
from tests.factories.core import UserFactory
from tests.factories.notifications import notify_one
from tests.live import ROOT, subprocess_env

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    queue = f"notif-test-{uuid.uuid4().hex[:8]}"
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "core", "worker", "-P", "solo", "-Q", queue,
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "info"],
        cwd=ROOT, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while " ready." not in (tmp_path / "worker.log").read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("celery worker did not start: " + (tmp_path / "worker.log").read_text()[-3000:])
            time.sleep(0.2)
        yield queue, tmp_path / "worker.log"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        sync_client().delete(queue)


@pytest.fixture
def to_broker():
    """Send tasks to the broker although the test settings run them eagerly."""
    conf = send_notification_email.app.conf
    before = conf.task_always_eager
    conf.task_always_eager = False
    yield
    conf.task_always_eager = before


def test_a_duplicated_task_on_a_real_worker_sends_one_email(worker, to_broker):
    queue, log_path = worker
    user = UserFactory()
    with transaction.atomic():
        n = notify_one(user, kind="order.status_changed", send_email=False)  # we queue it ourselves below
        NotificationDelivery.objects.create(notification=n, channel="email")
    for _ in range(2):  # a duplicate, as an acks_late redelivery would make
        send_notification_email.apply_async(args=[str(n.pk)], queue=queue)

    redis = sync_client()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if redis.llen(queue) == 0 and log_path.read_text(errors="replace").count("succeeded") >= 2:
            break
        time.sleep(0.2)
    log = log_path.read_text(errors="replace")
    assert log.count("succeeded") >= 2, log[-3000:]
    delivery = NotificationDelivery.objects.get(notification=n)
    assert (delivery.status, delivery.attempts) == ("sent", 1), log[-3000:]
    assert "'sent'" in log
