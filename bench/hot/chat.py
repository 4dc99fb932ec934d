"""Hot path 3: chat messages through the real ``send`` command on ``chat:<conversation_id>``.

Setup (not measured): ``C`` conversations, each between a buyer and the owner of a store of its
own, started with ``chat.services.conversation_start`` about one of the store's products. Both
sides have a socket subscribed to the conversation, the buyers' in one sender process and the
stores' in the other, so a message's delivery to the other side crosses processes (and neither
side is offline: no notifications).

A step: the conversations together send ``rate`` messages per second, each conversation at
``rate / C`` with its own phase, the sides taking turns; one command in flight per socket, a
fresh ``client_msg_id`` per message. Reported: messages/s, ``send`` round trip, latency from the
send to the ``chat.message`` event on the other side's socket, messages accepted but never
delivered there, gateway ``seq`` gaps/duplicates per socket and topic, and the chat's own
per-conversation ``seq`` in PostgreSQL (1..n, no gap, no duplicate).
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import log
from bench.hot.stack import HotStack
from bench.hot.steps import KEY, SENT, STATUS, Step, baseline_step, command_stats, pct_ms, query_stats, run_step, sockets

GOAL = 1000  # messages/s over many conversations (issue 16)
FIELDS = ["message.seq", "created"]
#: what buyers and stores write (short questions and answers; not recorded data)
LINES = ["Is this still available?", "Yes, it ships tomorrow.", "Can you do 10% off for two?",
         "I can do 5% on two.", "Does it come with the original box?", "It does, and the manual.",
         "What size is the strap?", "18 mm, it fits most wrists.", "Can I pick it up in person?",
         "Sure, our pickup point opens at 9."]


class Chats:
    """``n`` conversations with both sides connected (buyers: sender 0, stores: sender 1)."""

    def __init__(self, stack: HotStack, n: int) -> None:
        from rest_framework_simplejwt.tokens import AccessToken

        from chat import services
        from commerce.catalog.models import Category, Product
        from commerce.stores.models import Vendor, VendorStaff
        from core.models import Role, User

        self.stack = stack
        self.n = n
        t = time.monotonic()
        run = int(time.time())
        category = Category.objects.create(name=f"Hot chat {run}", slug=f"hot-chat-{run}")
        buyers = User.objects.bulk_create([User(email=f"hot-chat-buyer-{run}-{i}@example.com", display_name=f"Buyer {i}",
                                                password="!") for i in range(n)])
        owners = User.objects.bulk_create([User(email=f"hot-chat-owner-{run}-{i}@example.com", display_name=f"Owner {i}",
                                                roles=[Role.VENDOR], password="!") for i in range(n)])
        vendors = Vendor.objects.bulk_create([Vendor(name=f"Chat store {run}-{i}", slug=f"chat-store-{run}-{i}", owner=o,
                                                     status="active") for i, o in enumerate(owners)])
        VendorStaff.objects.bulk_create([VendorStaff(vendor=v, user=o, role="owner") for v, o in zip(vendors, owners)])
        products = Product.objects.bulk_create([Product(vendor=v, category=category, name=f"Watch {i}", slug=f"watch-{run}-{i}",
                                                        sku=f"W-{i}", price="120.00", stock=3) for i, v in enumerate(vendors)])
        self.ids = []
        for b, v, p in zip(buyers, vendors, products):
            conv = services.conversation_start(user=b, vendor_id=v.pk, context_type="product", context_id=p.pk)
            self.ids.append(str(conv.conversation.pk))
        bt = [str(AccessToken.for_user(u)) for u in buyers]
        ot = [str(AccessToken.for_user(u)) for u in owners]
        self.side_proc = (0, 1 % len(stack.loads))
        per: list[list[dict]] = [[] for _ in stack.loads]
        for i, cid in enumerate(self.ids):
            per[self.side_proc[0]].append({"id": f"cb{i}", "token": bt[i], "subs": [f"chat:{cid}"]})
            per[self.side_proc[1]].append({"id": f"cv{i}", "token": ot[i], "subs": [f"chat:{cid}"]})
        sockets(stack, per)
        self.steps = 0
        log(f"  chat: {n} conversations, {2 * n} sockets in {time.monotonic() - t:.1f} s")

    def step(self, rate: float, *, duration: float, warmup: float, profile: str | None = None, baseline: bool = False,
             stats_token: str, profiler=None) -> dict[str, Any]:
        self.steps += 1
        tag = f"s{self.steps}"
        per_conv = rate / self.n
        items: list[list[list]] = [[] for _ in self.stack.loads]
        for c, cid in enumerate(self.ids):
            phase = ((c * 0.6180339887) % 1.0) / per_conv
            k = 0
            while (t := phase + k / per_conv) < duration:
                side = k % 2
                sid = f"{'cv' if side else 'cb'}{c}"
                msg_id = f"{tag}-{c}-{k}"
                items[self.side_proc[side]].append([sid, round(t, 4), f"chat:{cid}", "send",
                                                    {"text": LINES[(c + k) % len(LINES)], "client_msg_id": msg_id}, msg_id])
                k += 1
        for its in items:
            its.sort(key=lambda x: x[1])
        st = Step(label=f"chat {rate:g}/s", build=lambda t0: items, duration=duration, window=(warmup, duration),
                  fields=FIELDS, record=(["chat.message"], "data.client_msg_id"), profile=profile)
        raw = run_step(self.stack, st, stats_token=stats_token, profiler=profiler)
        res = {"conversations": self.n, **command_stats(raw)}
        # delivery to the other side: the event on the socket of the side that did not send
        sender = {r[KEY]: (r[SENT], r[KEY]) for r in raw["rows"] if r[STATUS] == "ok"}
        side_of = {it[5]: it[0][:2] for its in items for it in its}
        w0, w1 = raw["window"]
        lat, delivered = [], set()
        for sid, _topic, _type, _seq, msg_id, recv in raw["events"]:
            if msg_id in sender and sid[:2] != side_of.get(msg_id):
                delivered.add(msg_id)
                s = sender[msg_id][0]
                if w0 <= s < w1:
                    lat.append(recv - s)
        res.update({"delivery_p50_ms": pct_ms(lat, 50), "delivery_p99_ms": pct_ms(lat, 99), "delivered": len(delivered),
                    "accepted_not_delivered": len(set(sender) - delivered),
                    "gateway_seq": {"gaps": raw["gaps"], "dups": raw["dups"], "frames": raw["frames"]},
                    "chat_seq": self._seq_check(), "queries": query_stats(raw, "chat", "send"), "cpu": raw["cpu"]})
        if baseline:
            res["baseline"] = baseline_step(self.stack, st, watch={f"chat:{cid}" for cid in self.ids[:100]},
                                            stats_token=stats_token)
        log(f"  chat {rate:g}/s: {res['accepted_per_s']}/s accepted, rtt p50/p99 {res['rtt_p50_ms']}/{res['rtt_p99_ms']} ms, "
            f"delivery p99 {res['delivery_p99_ms']} ms, gaps {raw['gaps']}, seq {res['chat_seq']}")
        return res

    def _seq_check(self) -> dict[str, int]:
        """Per conversation in PostgreSQL: messages numbered 1..last_seq, each once."""
        from django.db.models import Count, Max

        from chat.models import Conversation, Message

        last = dict(Conversation.objects.filter(pk__in=self.ids).values_list("pk", "last_seq"))
        stats = {c["conversation_id"]: c for c in Message.objects.filter(conversation_id__in=self.ids)
                 .values("conversation_id").annotate(n=Count("id"), top=Max("seq"), distinct=Count("seq", distinct=True))}
        bad = sum(1 for pk, ls in last.items()
                  if (stats.get(pk, {"n": 0, "top": 0, "distinct": 0})["n"], stats.get(pk, {"top": 0})["top"] or 0,
                      stats.get(pk, {"distinct": 0})["distinct"]) != (ls, ls, ls))
        return {"conversations": len(last), "with_gap_or_duplicate": bad, "messages": sum(s["n"] for s in stats.values())}
