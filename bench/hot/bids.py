"""Hot path 2: bids through the real ``bid`` command on ``auction:<id>``, replaying real eBay bid
histories (``bench/data/ebay-auctions.csv``) time-compressed with their sniping shape.

Two shapes:

- **many auctions**: copies of the recorded auctions, each a fresh live auction (start price =
  the opening bid) whose bids come at the recorded times divided by ``compress`` (real seconds
  per benchmark second; default 100,800: a 7-day auction lasts 6 s, its last hour 36 ms).
  Auction ends are spread so that the bids of all running auctions add up to the offered rate;
  the measuring window is the middle, where as many auctions start as end. The soft-close window
  and extension are the production 120 s divided by ``compress`` (at least 1 s; so is the 300 s
  "ending soon" notice, ``AUCTION_ENDING_SOON_SECONDS``, set by ``hot_paths.py``). Each recorded
  pseudonym is one bench bidder with a socket of its own (one command in flight), in every
  auction it bid on.
- **one hot auction**: 50 bidders on one live auction in its soft-close phase (production
  120 s window and extension: every bid extends it). Recorded histories are chained on it, each
  squeezed into the time its bids take at the offered rate (so each keeps its sniping shape)
  and re-based on the price reached before it, in bid increments (:meth:`Bidders.plan_hot`).

Setup (not measured): auctions through ``auction_create`` + ``auction_approve``; the many-auction
ends are then set to the schedule with one ``UPDATE`` (the beat's ``auctions_tick`` closes them
when due). After each step every auction's stored bid rows are replayed in ``version`` order
through ``auctions.rules``: each must have been a valid bid, each ``price_after`` and the final
price (and leader) must equal the replay's.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from decimal import Decimal
from itertools import cycle
from typing import Any

from django.db.models import Count

from bench.common import log
from bench.hot.data import EbayAuction, load_auctions
from bench.hot.stack import HotStack, in_threads
from bench.hot.steps import (
    KEY,
    SENT,
    STATUS,
    Step,
    baseline_step,
    close,
    command_stats,
    pct_ms,
    query_stats,
    run_step,
    sockets,
    subscriptions,
)

GOAL_MANY = 1000  # bids/s over many auctions on one Daphne process (issue 16)
GOAL_HOT = 300  # bids/s on one hot auction, 50 concurrent bidders
FIELDS = ["version", "current_price", "leading", "minimum_bid"]
DAY = 86400.0


class Bidders:
    """Bench bidders (funded wallets, one socket each), a store and an admin to list auctions.

    Many-auction bidders are the recorded pseudonyms, one bench user and socket each, made when
    a step first needs them (a real bidder may bid on several auctions, as in the data); the hot
    auction has its own ``hot`` bidders."""

    def __init__(self, stack: HotStack, *, hot: int = 50) -> None:
        from rest_framework_simplejwt.tokens import AccessToken

        from commerce.stores.models import Vendor, VendorStaff
        from core.models import Role, User

        self.stack = stack
        t = time.monotonic()
        self.run = int(time.time())
        run = self.run
        self.owner = User.objects.create_user(f"hot-seller-{run}@example.com", "x", roles=[Role.VENDOR])
        self.admin = User.objects.create_user(f"hot-admin-{run}@example.com", "x", roles=[Role.ADMIN], is_staff=True)
        self.vendor = Vendor.objects.create(name=f"Auction house {run}", slug=f"auction-house-{run}", owner=self.owner,
                                            status="active")
        VendorStaff.objects.create(vendor=self.vendor, user=self.owner, role="owner")
        self.watcher = User.objects.create_user(f"hot-watcher-{run}@example.com", "x")
        self.watcher_token = str(AccessToken.for_user(self.watcher))
        self.proc_of: dict[str, int] = {}  # socket id -> sender process
        self.sock_of: dict[str, str] = {}  # pseudonym -> socket id
        self.hot = hot
        # the hot auction's price climbs through many chained histories: fund its bidders deeply
        self._bidders([f"h{i}" for i in range(hot)], funds=Decimal("1000000000.00"))
        self.histories = load_auctions()
        random.Random(16).shuffle(self.histories)
        self._hist = cycle(self.histories)
        log(f"  bids: {hot} hot-auction bidders in {time.monotonic() - t:.1f} s")

    def _bidders(self, sids: list[str], funds: Decimal = Decimal("10000000.00")) -> None:
        """Users with ``funds`` EUR in their wallets and an authenticated socket each."""
        from rest_framework_simplejwt.tokens import AccessToken

        from commerce.wallet.models import LedgerKind
        from commerce.wallet.services import wallet_credit
        from core.models import User

        users = User.objects.bulk_create([User(email=f"hot-{sid}-{self.run}@example.com", display_name=f"Bidder {sid}",
                                               password="!") for sid in sids])
        in_threads(lambda u: wallet_credit(user=u, amount=funds, currency="EUR", kind=LedgerKind.DEPOSIT), users)
        senders = len(self.stack.loads)
        first = len(self.proc_of)
        per: list[list[dict]] = [[] for _ in range(senders)]
        for k, (sid, u) in enumerate(zip(sids, users)):
            self.proc_of[sid] = (first + k) % senders
            per[self.proc_of[sid]].append({"id": sid, "token": str(AccessToken.for_user(u)), "subs": []})
        sockets(self.stack, per, concurrency=50)

    def ensure_pseudonyms(self, names: set[str]) -> None:
        """A bench bidder for each recorded pseudonym not seen yet."""
        new = sorted(n for n in names if n not in self.sock_of)
        if not new:
            return
        t = time.monotonic()
        for n in new:
            self.sock_of[n] = f"p{n.rsplit('-', 1)[-1]}"
        self._bidders([self.sock_of[n] for n in new])
        log(f"  bids: {len(new)} more recorded bidders ({len(self.sock_of)} in all) in {time.monotonic() - t:.1f} s")

    def create_auctions(self, specs: list[dict]) -> list[str]:
        """Live auctions through the services: ``{title, start_price, window_s, extension_s,
        ends_in_s}`` each. Returns their ids."""
        from django.utils import timezone

        from auctions import services

        now = timezone.now()

        def create(s: dict) -> str:
            a = services.auction_create(user=self.owner, vendor_id=self.vendor.pk, title=s["title"],
                                        start_price=f"{s['start_price']:.2f}", ends_at=now + timedelta(seconds=s["ends_in_s"]),
                                        soft_close_window_seconds=s["window_s"], soft_close_extension_seconds=s["extension_s"])
            services.auction_approve(user=self.admin, auction_id=a.pk)
            return str(a.pk)

        return in_threads(create, specs) if len(specs) > 8 else [create(s) for s in specs]

    # --- many auctions -------------------------------------------------------------------------
    def plan_many(self, rate: float, window: float, compress: float) -> dict[str, Any]:
        """Auction copies and their bids: ends spread at ``rate`` bids/s from ``Dmax`` (the
        longest auction) to ``2·Dmax + window``; measuring window ``[Dmax, Dmax + window]``."""
        dmax = 7 * DAY / compress
        cum, copies = 0, []
        while True:
            h: EbayAuction = next(self._hist)
            end = dmax + cum / rate
            if end > 2 * dmax + window:
                break
            copies.append({"history": h, "start": end - h.days * DAY / compress, "end": end})
            cum += len(h.bids)
        return {"copies": copies, "duration": 2 * dmax + window + 0.5, "window": (dmax, dmax + window)}

    def step_many(self, rate: float, *, window: float, compress: float, profile: str | None = None,
                  baseline: bool = False, stats_token: str, profiler=None, watch: int = 100) -> dict[str, Any]:
        from auctions.models import Auction

        plan = self.plan_many(rate, window, compress)
        copies = plan["copies"]
        soft = max(1, round(120 / compress))
        t = time.monotonic()
        ids = self.create_auctions([{"title": f"{c['history'].item} (eBay {c['history'].id})",
                                     "start_price": c["history"].open_bid, "window_s": soft, "extension_s": soft,
                                     "ends_in_s": 3600} for c in copies])
        log(f"  bids many {rate:g}/s: {len(ids)} auctions created in {time.monotonic() - t:.1f} s")
        for c, aid in zip(copies, ids):
            c["id"] = aid
        watched = [c["id"] for c in copies[:: max(1, len(copies) // watch)]][:watch]
        self._watch(watched)
        self.ensure_pseudonyms({b.bidder for c in copies for b in c["history"].bids})
        senders = len(self.stack.loads)
        items: list[list[list]] = [[] for _ in range(senders)]
        for c in copies:
            for n, b in enumerate(c["history"].bids):
                sid = self.sock_of[b.bidder]
                items[self.proc_of[sid]].append([sid, round(c["start"] + b.t_days * DAY / compress, 4), f"auction:{c['id']}",
                                                 "bid", {"max_amount": f"{b.max_bid:.2f}"}, f"{c['id']}|{n}"])
        for its in items:
            its.sort(key=lambda x: x[1])
        subs = self._subscribe(items)

        def build(t0: float) -> list[list[list]]:
            from datetime import datetime, timezone as dt_timezone

            rows = {str(k): v for k, v in Auction.objects.in_bulk([c["id"] for c in copies]).items()}
            for c in copies:
                a = rows[c["id"]]
                a.ends_at = a.scheduled_end = datetime.fromtimestamp(t0 + c["end"], dt_timezone.utc)
                a.hard_end = a.ends_at + timedelta(hours=1)
            Auction.objects.bulk_update(rows.values(), ["ends_at", "scheduled_end", "hard_end"], batch_size=1000)
            return items

        st = Step(label=f"bids many {rate:g}/s", build=build, duration=plan["duration"], window=plan["window"],
                  fields=FIELDS, record=(["auction.bid_placed"], "data.version"), profile=profile, lead=4.0)
        raw = run_step(self.stack, st, stats_token=stats_token, profiler=profiler)
        close(self.stack, "aw")
        subscriptions(self.stack, subs, join=False)
        closing = self._wait_closed([c["id"] for c in copies])
        res = {"shape": "many", "auctions": len(copies), "compress": compress, "soft_close_s": soft,
               "bidders": len({b.bidder for c in copies for b in c["history"].bids}), "closing": closing, **self._analyse(raw, [c["id"] for c in copies])}
        res["ebay_final_price_reproduced"] = self._ebay_match(raw, copies)
        if baseline:
            res["baseline"] = baseline_step(self.stack, st, watch={f"auction:{a}" for a in watched}, stats_token=stats_token)
        self._log(res)
        return res

    @staticmethod
    def _wait_closed(ids: list[str], timeout: float = 240.0) -> dict[str, Any]:
        """Wait until the beat's ``auctions_tick`` has closed every auction of the step (so their
        closing does not load the next step, and the replay check sees final prices)."""
        from auctions.models import Auction, AuctionStatus

        t = time.monotonic()
        while True:
            live = Auction.objects.filter(pk__in=ids, status=AuctionStatus.LIVE).count()
            if not live or time.monotonic() - t > timeout:
                break
            time.sleep(1.0)
        results = dict(Auction.objects.filter(pk__in=ids).values_list("result").annotate(n=Count("id")))
        return {"seconds": round(time.monotonic() - t, 1), "still_live": live, "results": results}

    # --- one hot auction -----------------------------------------------------------------------
    def plan_hot(self, rate: float, duration: float) -> dict[str, Any]:
        """Recorded histories chained on one auction: ``{"bids": [(offset s, hot bidder index,
        amount)], "start_price", "expected_refusals"}``.

        History *h* takes the ``len(bids) / rate`` seconds after the one before it, its bids at
        their recorded fractions of the auction's length (its sniping shape). Its amounts are
        re-based on the price the chain has reached: a bid ``d`` above the recorded opening bid
        becomes the minimum bid at that point plus ``d`` counted in increments of the history's
        own price level (``rules.increment`` of its final price) and re-expressed in increments of
        the new level, so each history keeps its bidding in increments. The chain is played
        through ``auctions.rules`` here, in schedule order, to know that price; the bids it
        refuses are counted (they are refused by the server too when it sees the same order)."""
        from auctions import rules

        cent = Decimal("0.01")
        t, bids, start_price = 0.0, [], None
        standing, leader, price, refused = rules.Standing(None, None), None, None, 0
        while t < duration:
            h: EbayAuction = next(self._hist)
            if len(h.bids) < 5:
                continue
            if start_price is None:
                start_price = h.open_bid
            base = rules.minimum_bid(price, start_price=start_price)
            scale = rules.increment(base) / rules.increment(h.final_price)
            slot = len(h.bids) / rate
            names = {b: k for k, b in enumerate(h.bidders)}
            shift = len(bids) % self.hot
            for b in h.bids:
                at = t + slot * b.t_days / h.days
                if at >= duration:
                    continue
                who = (shift + names[b.bidder]) % self.hot
                amount = (base + (b.max_bid - h.open_bid) * scale).quantize(cent)
                bids.append((round(at, 4), who, amount))
                is_leader = who == leader
                valid = (amount > standing.leader_max) if is_leader else (
                    amount >= rules.minimum_bid(price, start_price=start_price))
                if not valid:
                    refused += 1
                    continue
                standing, leads = rules.apply_bid(standing, is_leader=is_leader, max_amount=amount)
                leader = who if leads else leader
                price = rules.current_price(standing, start_price=start_price, reserve=None)
            t += slot
        return {"bids": sorted(bids), "start_price": start_price, "expected_refusals": refused}

    def step_hot(self, rate: float, *, duration: float, warmup: float, profile: str | None = None,
                 baseline: bool = False, stats_token: str, profiler=None, watchers: int = 20) -> dict[str, Any]:
        plan = self.plan_hot(rate, duration)
        (aid,) = self.create_auctions([{"title": "Hot lot", "start_price": plan["start_price"], "window_s": 120,
                                        "extension_s": 120, "ends_in_s": 90}])
        self._watch([aid], sockets_n=watchers)
        senders = len(self.stack.loads)
        items: list[list[list]] = [[] for _ in range(senders)]
        for n, (at, who, amount) in enumerate(plan["bids"]):
            sid = f"h{who}"
            items[self.proc_of[sid]].append([sid, at, f"auction:{aid}", "bid", {"max_amount": f"{amount:.2f}"}, f"{aid}|{n}"])
        subs = self._subscribe(items)
        st = Step(label=f"bids hot {rate:g}/s", build=lambda t0: items, duration=duration, window=(warmup, duration),
                  fields=FIELDS, record=(["auction.bid_placed"], "data.version"), profile=profile)
        raw = run_step(self.stack, st, stats_token=stats_token, profiler=profiler)
        close(self.stack, "aw")
        subscriptions(self.stack, subs, join=False)
        res = {"shape": "hot", "auctions": 1, "bidders": self.hot, "watchers": watchers,
               "planned_bids": len(plan["bids"]), "refused_in_schedule_order": plan["expected_refusals"],
               **self._analyse(raw, [aid])}
        if baseline:
            res["baseline"] = baseline_step(self.stack, st, watch={f"auction:{aid}"}, stats_token=stats_token)
        self._log(res)
        return res

    # --- shared ----------------------------------------------------------------------------------
    def _subscribe(self, items: list[list[list]]) -> list[dict[str, list[str]]]:
        """Each bidder's socket subscribes to the auctions it bids on in ``items`` before the
        step, as the app does (the auction screen is open when its user bids): its bids then skip
        the topic's ``authorize`` query, checked once at subscribe. Returns the subscriptions per
        sender process, to undo after the step."""
        per_proc: list[dict[str, list[str]]] = []
        for its in items:
            subs: dict[str, list[str]] = {}
            for sid, _off, topic, *_ in its:
                if topic not in subs.setdefault(sid, []):
                    subs[sid].append(topic)
            per_proc.append(subs)
        t = time.monotonic()
        subscriptions(self.stack, per_proc)
        log(f"  bids: {sum(len(v) for s in per_proc for v in s.values())} bidder subscriptions in "
            f"{time.monotonic() - t:.1f} s")
        return per_proc

    def _watch(self, auction_ids: list[str], *, sockets_n: int | None = None, per_socket: int = 20) -> None:
        """Watcher sockets (process ``watcher``) subscribed to these auctions: ``per_socket``
        auctions each, or ``sockets_n`` sockets all on every auction."""
        if sockets_n is not None:
            specs = [{"id": f"aw{i}", "token": self.watcher_token, "subs": [f"auction:{a}" for a in auction_ids]}
                     for i in range(sockets_n)]
        else:
            specs = [{"id": f"aw{i}", "token": self.watcher_token,
                      "subs": [f"auction:{a}" for a in auction_ids[k:k + per_socket]]}
                     for i, k in enumerate(range(0, len(auction_ids), per_socket))]
        sockets(self.stack, [[] for _ in self.stack.loads] + [specs])

    def _analyse(self, raw: dict, auction_ids: list[str]) -> dict[str, Any]:
        res = command_stats(raw)
        sent = {}
        for r in raw["rows"]:
            if r[STATUS] == "ok" and r[6] is not None:
                sent[(r[KEY].split("|", 1)[0], r[6])] = r[SENT]
        w0, w1 = raw["window"]
        lat = []
        for sid, topic, _type, _seq, version, recv in raw["events"]:
            if not sid.startswith("aw"):  # a bidder's own socket (subscribed too): not a watcher
                continue
            s = sent.get((topic.split(":", 1)[1], version))
            if s is not None and w0 <= s < w1:
                lat.append(recv - s)
        res.update({"watcher_events": len(lat), "watcher_p50_ms": pct_ms(lat, 50), "watcher_p99_ms": pct_ms(lat, 99)})
        res["leading_after_accept"] = sum(1 for r in raw["rows"] if r[STATUS] == "ok" and r[8])
        res["replay"] = replay_check(auction_ids)
        res["queries"] = query_stats(raw, "auction", "bid")
        res["cpu"] = raw["cpu"]
        res["gateway_seq"] = {"gaps": raw["gaps"], "dups": raw["dups"], "frames": raw["frames"]}
        return res

    @staticmethod
    def _ebay_match(raw: dict, copies: list[dict]) -> dict[str, int]:
        """Auctions that received every recorded bid (each accepted, or refused by a bidding rule)
        whose price equals eBay's recorded final price (eBay had reserves and refusals not in the
        data, so not all can match; a faithful engine reproduces most)."""
        from auctions.models import Auction

        bad = {r[KEY].split("|", 1)[0] for r in raw["rows"]
               if r[STATUS] not in ("ok",) and not (r[STATUS] == "error" and r[5] == "bid_too_low")}
        ids = [c["id"] for c in copies if c["id"] not in bad]
        prices = {str(k): v for k, v in Auction.objects.filter(pk__in=ids).values_list("pk", "current_price")}
        match = sum(1 for c in copies if c["id"] in ids and prices.get(c["id"]) == c["history"].final_price)
        return {"complete": len(ids), "matching": match}

    @staticmethod
    def _log(res: dict) -> None:
        log(f"  bids {res['shape']} {res['offered_per_s']}/s offered: {res['completed_per_s']}/s done, "
            f"{res['accepted_per_s']}/s accepted, rtt p50/p99 {res['rtt_p50_ms']}/{res['rtt_p99_ms']} ms, "
            f"watcher p99 {res['watcher_p99_ms']} ms, replay {res['replay']['ok']}/{res['replay']['auctions']} ok")


def replay_check(auction_ids: list[str]) -> dict[str, Any]:
    """Replay each auction's stored bids in ``version`` order through ``auctions.rules``.

    A bid is valid when the bidder led and raised their maximum, or offered at least the minimum
    bid. Returns ``{"auctions", "ok", "bids", "invalid_bids", "price_after_mismatch",
    "final_mismatch": [ids...]}``; an auction is ok when every bid is valid, every stored
    ``price_after``/``leading_after`` equals the replay and the auction's price, leader and bid
    count (and final price once ended sold) equal the replay's end state."""
    from auctions import rules
    from auctions.models import Auction, Bid

    auctions = {str(k): v for k, v in Auction.objects.in_bulk(auction_ids).items()}
    by: dict[str, list] = {}
    for b in Bid.objects.filter(auction_id__in=auction_ids).order_by("auction_id", "version"):
        by.setdefault(str(b.auction_id), []).append(b)
    out = {"auctions": len(auction_ids), "ok": 0, "bids": 0, "invalid_bids": 0, "price_after_mismatch": 0,
           "final_mismatch": []}
    for aid in auction_ids:
        a = auctions[aid]
        bids = by.get(aid, [])
        standing, leader, price, good = rules.Standing(None, None), None, None, True
        for b in bids:
            is_leader = leader == b.bidder_id
            valid = (b.max_amount > standing.leader_max) if is_leader else (
                b.max_amount >= rules.minimum_bid(price, start_price=a.start_price))
            if not valid:
                out["invalid_bids"] += 1
                good = False
            standing, leads = rules.apply_bid(standing, is_leader=is_leader, max_amount=b.max_amount)
            if leads:
                leader = b.bidder_id
            price = rules.current_price(standing, start_price=a.start_price, reserve=a.reserve_price)
            if b.price_after != price or b.leading_after != leads:
                out["price_after_mismatch"] += 1
                good = False
        out["bids"] += len(bids)
        final_ok = (a.current_price == price and a.leader_id == leader and a.bid_count == len(bids)
                    and (a.final_price is None or a.final_price == price))
        if not final_ok:
            out["final_mismatch"].append(str(a.pk))
        out["ok"] += int(good and final_ok)
    out["final_mismatch"] = out["final_mismatch"][:10]
    return out
