#!/usr/bin/env python
"""Benchmark: the money paths of buyer protection — what one escrow release, one proof of
delivery, one dispute, one card payment and one verified webhook cost in SQL queries and time.

    .venv/bin/python bench/escrow_release.py            # 60 delivered orders (~1 min)
    .venv/bin/python bench/escrow_release.py --quick    # 10

A throw-away database (``test_marketplace_escrowbench``) on the embedded PostgreSQL and Redis DB
15 (flushed). N orders go through the real flow (checkout, card payment, store dispatch, courier
claim and pickup, the buyer's PIN); then the release sweep (``escrows_release_due``) pays them
after their window, first alone, then as two sweeps racing over another N (the lock makes them
pay each store once). Celery runs eagerly as in the tests (notification e-mails inline); the
outbox relay publishes to Redis after each commit as in production. Query counts come from
Django's ``CaptureQueriesContext``. Writes ``bench/results/escrow_release.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, bench_database, percentile, setup_django  # noqa: E402

SETTINGS = """
from core.settings_test import *  # noqa
LOGGING["root"]["level"] = "ERROR"
"""


def queries(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()  # a full log (9,000) would make the count wrong
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def delivered_orders(n: int) -> tuple[list, list[float]]:
    from tests.factories.delivery import deliver, picked_up, ready_delivery

    out, proof_ms = [], []
    for _ in range(n):
        d, carrier = picked_up(ready_delivery(price="25.00"))
        t = time.perf_counter()
        out.append(deliver(d, carrier))
        proof_ms.append((time.perf_counter() - t) * 1000)
    return out, proof_ms


def run(n: int) -> dict:
    from django.db import connection

    from commerce.disputes import services as disputes
    from commerce.payments import escrow
    from commerce.payments import services as payments
    from commerce.payments.gateways import GATEWAYS
    from commerce.wallet.models import Escrow, LedgerEntry
    from tests.factories.commerce import ProductFactory
    from tests.factories.core import AdminFactory
    from tests.factories.delivery import deliver, picked_up, ready_delivery
    from tests.factories.orders import buyer_with_cart, checkout_for

    result: dict = {"n": n}
    t = time.perf_counter()
    orders, proof_ms = delivered_orders(n)
    result["setup_s_per_order"] = round((time.perf_counter() - t) / n, 3)
    result["proof_of_delivery_ms_p50_p99"] = [round(percentile(proof_ms, 50), 1), round(percentile(proof_ms, 99), 1)]
    due = max(Escrow.objects.filter(order__in=orders).values_list("release_after", flat=True))
    release_ms: list[float] = []

    def sweep_timed():
        for o in orders:
            t0 = time.perf_counter()
            assert escrow.escrow_release_due(order_id=o.pk, now=due)
            release_ms.append((time.perf_counter() - t0) * 1000)

    result["queries_sweep_select"] = queries(lambda: escrow.escrows_release_due(now=due - escrow.protection_window()))
    first = orders.pop(0)
    result["queries_one_release"] = queries(lambda: escrow.escrow_release_due(order_id=first.pk, now=due))
    sweep_timed()
    result["release_ms_p50_p99"] = [round(percentile(release_ms, 50), 1), round(percentile(release_ms, 99), 1)]
    result["releases_per_s"] = round(len(release_ms) / (sum(release_ms) / 1000), 1)

    racing, _ = delivered_orders(n)
    due2 = max(Escrow.objects.filter(order__in=racing).values_list("release_after", flat=True))
    counts: list[dict] = []

    def sweep():
        try:
            counts.append(escrow.escrows_release_due(now=due2))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    result["two_racing_sweeps_s"] = round(time.perf_counter() - t0, 2)
    result["two_racing_sweeps_released"] = [c["released"] for c in counts]
    result["payouts_per_order_after_race"] = sorted({LedgerEntry.objects.filter(kind="payout", reference=f"order:{o.pk}")
                                                    .count() for o in racing})

    d, carrier = picked_up(ready_delivery())
    result["queries_proof_of_delivery"] = queries(lambda: deliver(d, carrier))
    o = orders[0].__class__.objects.get(pk=d.order_id)
    holder: dict = {}
    result["queries_dispute_open"] = queries(lambda: holder.setdefault(
        "d", disputes.dispute_open(user=o.buyer, order_id=o.pk, reason="damaged", description="Cracked")))
    staff = AdminFactory()
    result["queries_dispute_resolve_partial_refund"] = queries(lambda: disputes.dispute_resolve(
        user=staff, dispute_id=holder["d"].pk, resolution="partial_refund", amount="5.00"))
    buyer = buyer_with_cart({ProductFactory(price="9.00"): 1})
    order = checkout_for(buyer=buyer).orders.get()
    result["queries_card_payment"] = queries(lambda: payments.payment_create(
        user=buyer, order_id=order.id, method="card", card_token="tok_visa"))
    buyer2 = buyer_with_cart({ProductFactory(price="9.00"): 1})
    order2 = checkout_for(buyer=buyer2).orders.get()
    p = payments.payment_create(user=buyer2, order_id=order2.id, method="card", card_token="tok_pending")
    body, headers = GATEWAYS["test"].build_webhook(intent_id=p.intent_id, succeeded=True)
    result["queries_verified_webhook"] = queries(lambda: payments.payments_handle_webhook(
        gateway_name="test", body=body, headers=headers))
    return result


def markdown(r: dict) -> str:
    rows = [
        ("orders delivered through the real flow (setup)", f"{r['setup_s_per_order']} s each"),
        ("proof of delivery (PIN → delivered, window started) p50 / p99", " / ".join(f"{x} ms" for x in r["proof_of_delivery_ms_p50_p99"])),
        ("queries: proof of delivery", r["queries_proof_of_delivery"]),
        ("queries: the sweep's selection (nothing due)", r["queries_sweep_select"]),
        ("queries per escrow release (locks, payout, commission, events, notification, outbox relay)", r["queries_one_release"]),
        ("escrow release p50 / p99", " / ".join(f"{x} ms" for x in r["release_ms_p50_p99"])),
        ("releases per second, one sweep", r["releases_per_s"]),
        (f"two racing sweeps over {r['n']}: released by each", " + ".join(map(str, r["two_racing_sweeps_released"]))),
        ("payouts per order after the race", r["payouts_per_order_after_race"]),
        ("queries: dispute open", r["queries_dispute_open"]),
        ("queries: dispute resolve (partial refund by card, rest released)", r["queries_dispute_resolve_partial_refund"]),
        ("queries: card payment (record, charge, settle)", r["queries_card_payment"]),
        ("queries: verified webhook settling a payment", r["queries_verified_webhook"]),
    ]
    lines = [f"# Buyer-protection money paths ({r['n']} orders, {platform.machine()}, {r['cpus']} CPUs)", "",
             "| measure | value |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--orders", type=int, default=None)
    args = parser.parse_args()
    n = args.orders or (10 if args.quick else 60)
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp), name="escrow", settings_text=SETTINGS)
        import os

        with bench_database("escrow"):
            result = run(n)
            result["cpus"] = os.cpu_count()
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "escrow_release.json").write_text(json.dumps(result, indent=2))
    (RESULTS_DIR / "escrow_release.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
