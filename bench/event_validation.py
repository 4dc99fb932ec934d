#!/usr/bin/env python
"""Benchmark: what validating an event against its schema costs (``realtime.events``), per event
type, and what it adds to a ``realtime.outbox.publish`` — to decide where validation is on.

    .venv/bin/python bench/event_validation.py

A throw-away database (``test_marketplace_eventsbench``) on the embedded PostgreSQL and Redis DB
15 (flushed; shared with the escrow and churn benchmarks: run them one at a time). Real services
make real payloads: a cart of 10 lines, a checkout paid by card, its delivery with positions, a
dispute, chat messages, auction bids, notifications. For every event type they produced, the
largest payload is validated 2,000 times (strict JSON mode, as ``REALTIME["VALIDATE_EVENTS"]``
does: ``dumps`` + pydantic-core); then ``publish`` (one outbox INSERT in a transaction that is
rolled back, so nothing is relayed) is timed with validation on and off for a 10-line
``cart.updated`` and a ``chat.message``. Writes ``bench/results/event_validation.json`` and ``.md``.
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, bench_database, percentile, setup_django  # noqa: E402

SETTINGS = """
from core.settings_test import *  # noqa
LOGGING["root"]["level"] = "ERROR"
"""


def make_events() -> None:
    """Drive the real services so that the outbox holds one payload of (almost) every type."""
    from datetime import timedelta

    from django.utils import timezone

    from auctions import services as auctions
    from chat.services import conversation_mark_read
    from commerce.disputes import services as disputes
    from notifications import services as inbox
    from tests.factories.auctions import bidder, live_auction
    from tests.factories.chat import ConversationFactory, send
    from tests.factories.commerce import ProductFactory, VendorFactory
    from tests.factories.core import AdminFactory
    from tests.factories.delivery import PICK, deliver, picked_up, point, ready_delivery
    from tests.factories.orders import buyer_with_cart

    vendor = VendorFactory()
    buyer_with_cart({ProductFactory(vendor=vendor, stock=50): 2 for _ in range(10)})
    d, rider = picked_up(ready_delivery(vendor=vendor))
    from delivery import services as deliveries

    t0 = timezone.now() - timedelta(minutes=5)
    for i in range(3):
        deliveries.delivery_ingest_locations(courier=rider, delivery_id=d.pk, now=t0 + timedelta(seconds=3 * i),
                                             points=[point(t0 + timedelta(seconds=3 * i), PICK[0] + 0.0001 * i, PICK[1])])
    order = deliver(d, rider)
    dispute = disputes.dispute_open(user=order.buyer, order_id=order.pk, reason="damaged", description="Broken.")
    disputes.dispute_resolve(user=AdminFactory(), dispute_id=dispute.pk, resolution="refund", note="Sorry.")
    inbox.mark_all_read(user=order.buyer)
    conversation = ConversationFactory()
    for i in range(5):
        send(conversation, conversation.buyer if i % 2 else conversation.vendor.owner, "A question about the size " * 4)
    conversation_mark_read(user=conversation.buyer, conversation_id=conversation.pk, up_to_seq=5)
    auction = live_auction()
    for amount in ("20.00", "30.00", "45.00"):
        auctions.auction_place_bid(auction_id=auction.pk, bidder=bidder(), max_amount=amount)


def timed_us(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e6)
    return out


def run() -> dict:
    from django.conf import settings
    from django.db import transaction

    from realtime import outbox
    from realtime.events import get_event_type, validate
    from realtime.jsonutil import dumps
    from realtime.models import OutboxEvent

    make_events()
    largest: dict[str, dict] = {}
    for row in OutboxEvent.objects.order_by("id"):
        if len(dumps(row.data)) > len(dumps(largest.get(row.type, {}))):
            largest[row.type] = {"topic": row.topic, "data": row.data}
    per_type = {}
    for type_, sample in sorted(largest.items()):
        event = get_event_type(type_).event(sample["data"])
        validate(event)  # warm
        us = timed_us(lambda: validate(event), 2000)
        per_type[type_] = {"bytes": len(dumps(sample["data"]).encode()), "validate_us_p50": round(percentile(us, 50), 1),
                           "validate_us_p99": round(percentile(us, 99), 1)}

    publish = {}
    for type_ in ("cart.updated", "chat.message"):
        sample = largest[type_]
        event = get_event_type(type_).event(sample["data"])
        for on in (False, True):
            settings.REALTIME["VALIDATE_EVENTS"] = on

            def one():
                outbox.publish(topic=sample["topic"], event=event)

            with transaction.atomic():
                timed_us(one, 50)  # warm
                us = timed_us(one, 1000)
                transaction.set_rollback(True)
            publish[f"{type_} validation {'on' if on else 'off'}"] = {
                "publish_us_p50": round(percentile(us, 50), 1), "publish_us_p99": round(percentile(us, 99), 1)}
    return {"types": len(per_type), "per_type": per_type, "publish": publish,
            "python": platform.python_version(), "machine": platform.machine()}


def write(result: dict) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "event_validation.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Event validation (bench/event_validation.py)",
        "",
        f"Python {result['python']} on {result['machine']}; {result['types']} event types, each its largest payload from",
        "real services; strict JSON validation (`realtime.events.validate`: `dumps` + pydantic-core), 2,000 runs each.",
        "",
        "| event type | payload bytes | validate µs p50 | p99 |",
        "|---|---:|---:|---:|",
    ]
    for type_, row in result["per_type"].items():
        lines.append(f"| `{type_}` | {row['bytes']} | {row['validate_us_p50']} | {row['validate_us_p99']} |")
    lines += ["", "`realtime.outbox.publish` (one outbox INSERT, transaction rolled back), 1,000 runs:", "",
              "| event | publish µs p50 | p99 |", "|---|---:|---:|"]
    for name, row in result["publish"].items():
        lines.append(f"| {name} | {row['publish_us_p50']} | {row['publish_us_p99']} |")
    (RESULTS_DIR / "event_validation.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp), name="events", settings_text=SETTINGS)
        with bench_database("events"):
            result = run()
    write(result)
    print((RESULTS_DIR / "event_validation.md").read_text())


if __name__ == "__main__":
    main()
