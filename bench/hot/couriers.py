"""Hot path 1: courier positions through the real ``location`` command on ``delivery:<id>``.

Setup (not measured): one store with a pickup point; per courier a buyer, an order (created in
bulk in ``processing``, then moved to ``ready_for_pickup`` by the store through
``commerce.orders.services.order_transition``, which creates the delivery) whose drop-off is the far end
of the courier's track, claimed (``delivery_claim``) and picked up (``delivery_set_status``) by
the courier: every courier has a real claimed delivery. Each courier has its own socket (sender
processes); a watcher process holds one socket per sampled delivery, signed in as its buyer.

A step: the first ``n`` couriers replay their tracks (``bench/hot/data.py``: GPX at recorded
timing, Denver at 1 Hz, own start index and phase) for ``duration`` seconds, one command in
flight per courier (the app waits for the reply; a point due meanwhile waits and its lag is
reported). Device ``ts`` is the point's due time. Reported: positions/s offered and accepted,
``location`` round trip, position → watcher latency raw and above the throttle's intended
schedule, and whether every accepted point is stored exactly once in PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal
from typing import Any

from bench.common import log
from bench.hot.data import ACCURACY_M, CourierReplay, assign_tracks, load_tracks
from bench.hot.stack import HotStack, in_threads
from bench.hot.steps import KEY, REPLIED, SENT, STATUS, Step, baseline_step, close, command_stats, pct_ms, query_stats, run_step, sockets

GOAL = 1000  # couriers at ~1 Hz on one Daphne process (issue 16)
FIELDS = ["kept", "rejected", "dropped", "hidden", "broadcast", "deferred"]


def iso_ms(t: float) -> str:
    """Wall-clock seconds → ISO 8601 UTC with milliseconds (as the server formats ``ts``)."""
    return datetime.fromtimestamp(t, dt_timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Couriers:
    """The fixture: ``n`` couriers with claimed deliveries, their replays, tokens and sockets."""

    def __init__(self, stack: HotStack, n: int, *, watchers: int = 100) -> None:
        self.stack = stack
        self.n = n
        t = time.monotonic()
        tracks = load_tracks()
        self.tracks = assign_tracks(tracks, n)
        self.replays = [CourierReplay(tr, i) for i, tr in enumerate(self.tracks)]
        self.deliveries, self.courier_tokens, self.buyer_tokens = self._setup()
        self.watched = list(range(min(watchers, n)))
        log(f"  couriers: {n} claimed deliveries in {time.monotonic() - t:.1f} s "
            f"({sum(1 for tr in self.tracks if tr.timing == 'recorded')} on GPX tracks)")
        senders = len(stack.loads)
        sockets(stack, [[{"id": f"k{i}", "token": self.courier_tokens[i], "subs": []} for i in range(k, n, senders)]
                        for k in range(senders)])

    def _setup(self) -> tuple[list[str], list[str], list[str]]:
        from rest_framework_simplejwt.tokens import AccessToken

        from commerce.orders import services as orders
        from commerce.orders.models import Order, OrderStatus
        from commerce.stores.models import PickupPoint, Vendor, VendorStaff
        from core.models import Role, User
        from delivery import services
        from delivery.models import Delivery

        run = int(time.time())
        owner = User.objects.create_user(f"hot-store-{run}@example.com", "x", roles=[Role.VENDOR])
        vendor = Vendor.objects.create(name=f"Hot store {run}", slug=f"hot-store-{run}", owner=owner, status="active")
        VendorStaff.objects.create(vendor=vendor, user=owner, role="owner")
        first = self.replays[0].track.fixes[self.replays[0].pos]
        PickupPoint.objects.create(vendor=vendor, latitude=round(first.lat, 6), longitude=round(first.lon, 6))
        couriers = User.objects.bulk_create([User(email=f"hot-courier-{run}-{i}@example.com", display_name=f"Courier {i}",
                                                  roles=[Role.COURIER], password="!") for i in range(self.n)])
        buyers = User.objects.bulk_create([User(email=f"hot-buyer-{run}-{i}@example.com", display_name=f"Buyer {i}",
                                                password="!") for i in range(self.n)])
        made = []
        for i, (rp, buyer) in enumerate(zip(self.replays, buyers)):
            fixes = rp.track.fixes
            drop = fixes[-1] if rp.step > 0 else fixes[0]  # the far end of the way it starts going
            made.append(Order(number=f"H{run % 100000:05d}{i:05d}", buyer=buyer, vendor=vendor, status=OrderStatus.PROCESSING,
                              currency="EUR", subtotal=Decimal("10.00"), total=Decimal("10.00"),
                              shipping_address={"full_name": buyer.display_name, "line1": f"Bench street {i}",
                                                "latitude": f"{drop.lat:.6f}", "longitude": f"{drop.lon:.6f}"}))
        Order.objects.bulk_create(made, batch_size=1000)

        def claim(i: int) -> str:
            order, courier = made[i], couriers[i]
            orders.order_transition(user=owner, order_id=order.id, to_status="ready_for_pickup")
            d = Delivery.objects.get(order=order)
            # the pickup is where the courier's replay starts
            fix = self.replays[i].track.fixes[self.replays[i].pos]
            Delivery.objects.filter(pk=d.pk).update(pickup_lat=fix.lat, pickup_lon=fix.lon)
            services.delivery_claim(courier=courier, delivery_id=d.pk)
            services.delivery_set_status(courier=courier, delivery_id=d.pk, status="picked_up")
            return str(d.pk)

        deliveries = in_threads(claim, list(range(self.n)))
        return (deliveries, [str(AccessToken.for_user(u)) for u in couriers], [str(AccessToken.for_user(u)) for u in buyers])

    def finish(self) -> None:
        """End the deliveries once the path is measured (one ``UPDATE``: teardown, not a
        measured path), so the beat's stale-courier sweep does not load the next paths."""
        from delivery.models import Delivery

        Delivery.objects.filter(pk__in=self.deliveries).update(status="failed", failure_reason="benchmark over")

    # --- one step ---------------------------------------------------------------------------------
    def plan(self, n: int, duration: float) -> list[tuple[int, dict]]:
        """The points of couriers ``0..n-1`` over ``duration`` s: ``(courier, point)`` (offsets)."""
        start = getattr(self, "_clock", 0.0)
        out = [(i, p) for i in range(n) for p in self.replays[i].take(start, duration)]
        for _, p in out:
            p["t"] -= start
        self._clock = start + duration + 60.0  # the replays' clock runs on between steps
        return out

    def step(self, n: int, *, duration: float, warmup: float, profile: str | None = None, baseline: bool = False,
             stats_token: str, profiler=None) -> dict[str, Any]:
        from django.conf import settings

        stack = self.stack
        senders = len(stack.loads)
        watched = [i for i in self.watched if i < n]
        sockets(stack, [[] for _ in stack.loads] + [[{"id": f"w{i}", "token": self.buyer_tokens[i],
                                                      "subs": [f"delivery:{self.deliveries[i]}"]} for i in watched]])
        plan = self.plan(n, duration)

        def build(t0: float) -> list[list[list]]:
            per: list[list[list]] = [[] for _ in range(senders)]
            for i, p in sorted(plan, key=lambda x: x[1]["t"]):
                ts = iso_ms(t0 + p["t"])
                data = {"ts": ts, "lat": p["lat"], "lon": p["lon"], "accuracy_m": ACCURACY_M}
                if p["speed_mps"] is not None:
                    data["speed_mps"] = p["speed_mps"]
                if p["heading_deg"] is not None:
                    data["heading_deg"] = p["heading_deg"]
                per[i % senders].append([f"k{i}", p["t"], f"delivery:{self.deliveries[i]}", "location", data,
                                         f"{self.deliveries[i]}|{ts}"])
            return per

        st = Step(label=f"couriers n={n}", build=build, duration=duration, window=(warmup, duration), fields=FIELDS,
                  record=(["delivery.location"], "data.ts"), profile=profile, settle=3.0)
        raw = run_step(stack, st, stats_token=stats_token, profiler=profiler)
        close(stack, "w")
        res = {"couriers": n, "gps_couriers": sum(1 for tr in self.tracks[:n] if tr.timing == "recorded"),
               "watched": len(watched), **command_stats(raw)}
        res["positions_offered_per_s"] = res["offered_per_s"]
        res["replies"] = {f: sum(r[6 + k] or 0 for r in raw["rows"] if r[STATUS] == "ok") for k, f in enumerate(FIELDS)}
        res.update(self._watcher(raw, interval=float(settings.DELIVERY_BROADCAST_INTERVAL_S)))
        res["persistence"] = self._persisted(raw)
        res["queries"] = query_stats(raw, "delivery", "location")
        res["cpu"] = raw["cpu"]
        res["gateway_seq"] = {"gaps": raw["gaps"], "dups": raw["dups"], "frames": raw["frames"]}
        if baseline:
            res["baseline"] = baseline_step(stack, st, watch={f"delivery:{self.deliveries[i]}" for i in watched},
                                            stats_token=stats_token)
        log(f"  couriers n={n}: {res['accepted_per_s']}/s of {res['offered_per_s']}/s, rtt p50/p99 "
            f"{res['rtt_p50_ms']}/{res['rtt_p99_ms']} ms, watcher above schedule p99 {res['watcher_late_p99_ms']} ms, "
            f"persisted {res['persistence']['persisted']}/{res['persistence']['accepted']}")
        return res

    @staticmethod
    def _watcher(raw: dict, *, interval: float) -> dict[str, Any]:
        """Position → watcher latency: ``raw`` = receive − send; ``late`` = receive − the time the
        throttle intends (the point's send time, or the previous broadcast's intended time plus
        ``DELIVERY_BROADCAST_INTERVAL_S`` when that is later: newest point once per interval)."""
        sent = {r[KEY]: r[SENT] for r in raw["rows"] if r[STATUS] == "ok"}
        w0, w1 = raw["window"]
        per_topic: dict[str, list[tuple[float, float]]] = {}
        for _sid, topic, _type, _seq, ts, recv in raw["events"]:
            key = f"{topic.split(':', 1)[1]}|{ts}"
            if key in sent:
                per_topic.setdefault(topic, []).append((recv, sent[key]))
        lat, late = [], []
        for evs in per_topic.values():
            intended_prev = None
            for recv, s in sorted(evs):
                intended = s if intended_prev is None else max(s, intended_prev + interval)
                intended_prev = intended
                if w0 <= s < w1:
                    lat.append(recv - s)
                    late.append(recv - intended)
        return {"watcher_events": len(lat), "watcher_p50_ms": pct_ms(lat, 50), "watcher_p99_ms": pct_ms(lat, 99),
                "watcher_late_p50_ms": pct_ms(late, 50), "watcher_late_p99_ms": pct_ms(late, 99)}

    def _persisted(self, raw: dict, wait: float = 15.0) -> dict[str, Any]:
        """Every accepted point (``ok`` reply that kept or rejected it) must be one row of
        ``LocationPoint``; waits up to ``wait`` s for a batching writer to catch up."""
        from django.db.models import Count

        from delivery.models import LocationPoint

        accepted = {r[KEY] for r in raw["rows"] if r[STATUS] == "ok" and ((r[6] or 0) + (r[7] or 0)) == 1}
        unanswered = {r[KEY] for r in raw["rows"] if r[SENT] is not None and r[REPLIED] is None}
        deliveries = sorted({k.split("|", 1)[0] for k in accepted | unanswered})
        since = datetime.fromtimestamp(raw["t0"] - 1, dt_timezone.utc)
        deadline = time.monotonic() + wait
        while True:
            qs = LocationPoint.objects.filter(delivery_id__in=deliveries, ts__gte=since)
            rows = {f"{d}|{iso_ms(ts.timestamp())}" for d, ts in qs.values_list("delivery_id", "ts")}
            missing = accepted - rows
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        dup = (qs.values("delivery_id", "ts").annotate(n=Count("id")).filter(n__gt=1).count())
        return {"accepted": len(accepted), "persisted": len(accepted & rows), "missing": len(missing),
                "duplicates": dup, "rows_without_ok_reply": len(rows - accepted),
                "unanswered_persisted": len(unanswered & rows)}
