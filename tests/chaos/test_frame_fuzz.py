"""No frame crashes the gateway: 10,500 generated frames against a real Daphne process.

A seeded generator (:class:`FrameFuzzer`, seed below, so a failure reproduces) writes JSON text
by hand so that it can produce what ``json.dumps`` never would: lone surrogates as escapes
(``"\\ud800"``) in every string field including ``token`` and object keys, integers far outside
any column (``2**64``, 50 digits), ``NaN``/``Infinity``/``1e400``, nesting 31 to 5,000 deep,
every field with every wrong type, truncated and byte-flipped frames, plus well-formed commands
with hostile data on real topics (the user's cart with a real product, a live auction, a chat,
a delivery). Eight authenticated sockets and four that never authenticate (``auth`` with fuzzed
tokens) send them in parallel, one frame at a time, each answered before the next.

Asserted: every frame is answered by a reply (status ok, or an error with a code that is not
``internal_error``) or by a close with one of the gateway's own codes (never 1011); and the
server's log, stdout and stderr captured from the first line, holds no traceback, no ERROR line
and no 1011.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import tokens_for
from tests.factories.auctions import live_auction
from tests.factories.commerce import ProductFactory
from tests.factories.core import UserFactory
from tests.live import LiveServer, WSClient

pytestmark = [pytest.mark.live, pytest.mark.chaos]

SEED = 20261124
AUTHED_SOCKETS, ANONYMOUS_SOCKETS = 8, 4
FRAMES_PER_AUTHED, FRAMES_PER_ANONYMOUS = 1000, 625  # 8,000 + 2,500 = 10,500 frames
GATEWAY_CLOSE_CODES = {1009, 4401, 4429, 4503}


class Raw(str):
    """JSON text inserted as is (a lone-surrogate escape, NaN, a 50-digit integer...)."""


def enc(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{enc(k)}:{enc(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(enc(v) for v in value) + "]"
    return json.dumps(value)


NASTY_STRINGS = [Raw('"\\ud800"'), Raw('"\\udfff"'), Raw('"ab\\ud83d"'), Raw('"\\udc00x\\ud800"'), Raw('"\\ud83d\\ude00"'),
                 "", " ", "x" * 65, "x" * 5000, "\u0000", "ünïcødé 🙂", "<script>alert(1)</script>", "' OR 1=1 --",
                 "a:b", "cart:", ":", "%s%s%n", "\\", "\n\r\t"]
NASTY_NUMBERS = [Raw("18446744073709551616"), Raw("-18446744073709551617"), Raw("9007199254740992"),
                 Raw("1" + "0" * 50), Raw("1e400"), Raw("-1e400"), Raw("NaN"), Raw("Infinity"), Raw("-Infinity"),
                 Raw("1e308"), Raw("-0"), Raw("0.1"), -1, 0, 1, 2**31, 2**53 - 1, Raw("1.5e-400")]
WRONG_TYPES = [None, True, False, [], {}, [1, "a"], {"a": {"b": []}}]


class FrameFuzzer:
    """Frames as JSON text; ``rng`` is seeded, ``targets`` names real objects of the test data."""

    def __init__(self, rng: random.Random, targets: dict) -> None:
        self.rng = rng
        self.t = targets

    def scalar(self):
        r = self.rng.random()
        if r < 0.35:
            return self.rng.choice(NASTY_STRINGS)
        if r < 0.7:
            return self.rng.choice(NASTY_NUMBERS)
        return self.rng.choice(WRONG_TYPES)

    def value(self, depth: int = 0):
        r = self.rng.random()
        if depth < 3 and r < 0.15:
            return {self.key(): self.value(depth + 1) for _ in range(self.rng.randint(0, 3))}
        if depth < 3 and r < 0.25:
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 3))]
        if r < 0.3:
            return self.nested()
        return self.scalar()

    def key(self):
        return self.rng.choice(["a", "product_id", "quantity", "max_amount", "text", Raw('"\\ud800"'), "", "x" * 100])

    def nested(self) -> Raw:
        n = self.rng.choice([31, 32, 33, 100, 1000, 5000])
        opener, closer = self.rng.choice([("[", "]"), ('{"a":', "}")])
        return Raw(opener * n + "1" + closer * n)

    def ref(self):
        if self.rng.random() < 0.8:
            return self.rng.choice(["1", 7, "r" * 64, -5, "ü🙂"])
        return self.rng.choice(["r" * 65, Raw('"\\ud800"'), Raw("18446744073709551616"), Raw("1e400"), [], {"a": 1}, True])

    def maybe(self, good):
        """``good`` most of the time (so frames reach the code behind validation), else junk."""
        return good if self.rng.random() < 0.8 else self.value()

    def topic(self):
        return self.maybe(self.rng.choice([self.t["cart"], self.t["auction"], self.t["chat"], self.t["delivery"],
                                           self.t["user"], "nope:1", f"cart:{uuid.uuid4()}"]))

    def command(self) -> dict:
        topic = self.topic()
        names = {"cart": ["add_item", "set_quantity", "remove_item", "clear"], "auction": ["bid"],
                 "chat": ["send", "edit", "delete", "typing", "read"], "delivery": ["location"]}
        kind = topic.split(":", 1)[0] if isinstance(topic, str) and not isinstance(topic, Raw) else ""
        name = self.maybe(self.rng.choice(names.get(kind, ["bid", "dance"])))
        data = {
            "product_id": self.maybe(self.t["product"]),
            "quantity": self.maybe(self.rng.randint(1, 3)),
            "max_amount": self.maybe(self.rng.choice(["12.50", "1000000000000000000000.00", "-1", "1e9"])),
            "text": self.maybe("hello"),
            "lat": self.maybe(52.52), "lon": self.maybe(13.4), "accuracy": self.maybe(5),
        }
        for k in self.rng.sample(sorted(data), k=self.rng.randint(0, len(data))):
            del data[k]
        if self.rng.random() < 0.3:  # one hostile value in an otherwise well-formed command
            data[self.rng.choice(["product_id", "quantity", "max_amount", "text", "lat"])] = self.scalar()
        frame = {"op": "command", "topic": topic, "name": name, "data": self.maybe(data)}
        return frame

    def frame(self, *, authed: bool, token: str) -> str:
        r = self.rng.random()
        if r < 0.06:
            return self.rng.choice(["", "{", "[]", "null", '"x"', "1", "{}}", '{"op":', "\u0000", "{" * 2000])
        if r < 0.12:  # a valid frame, truncated or with a byte flipped
            text = enc({"op": "ping", "ref": "1"})
            cut = self.rng.randint(0, len(text))
            return text[:cut] + self.rng.choice(["", "\\", '"', "\\ud800", "\x7f"]) + text[cut:]
        ops = ["ping", "subscribe", "unsubscribe", "command"] + (["auth"] if authed else ["auth"] * 3)
        op = self.maybe(self.rng.choice(ops))
        frame: dict = {"op": op}
        if self.rng.random() < 0.9:
            frame["ref"] = self.ref()
        if op == "auth":
            frame["token"] = self.rng.choice([token, token[:-3] + "abc", Raw('"\\ud800"'), Raw('"eyJ\\udfff.x.y"'),
                                              self.scalar(), "x" * 5000, token + "\ud83d\ude00"])
        elif op in ("subscribe", "unsubscribe"):
            frame["topic"] = self.topic()
            if op == "subscribe" and self.rng.random() < 0.7:
                frame["since"] = self.rng.choice(NASTY_NUMBERS + [0, 1, 5])
        elif op == "command":
            frame.update(self.command())
        if self.rng.random() < 0.05:
            frame[self.key()] = self.value()
        return enc(frame)


async def drive(ws_url: str, fuzzer: FrameFuzzer, *, n: int, token: str, authed: bool, tally: Counter) -> None:
    """Send ``n`` frames, each answered before the next; reconnect (and re-auth) after a close."""
    sent = 0
    while sent < n:
        async with connect(ws_url, max_size=2**22, open_timeout=10) as ws:
            if authed:
                await ws.send(json.dumps({"op": "auth", "ref": "a", "token": token}))
                assert json.loads(await ws.recv())["status"] == "ok"
            try:
                while sent < n:
                    await ws.send(fuzzer.frame(authed=authed, token=token))
                    sent += 1
                    while True:
                        reply = json.loads(await asyncio.wait_for(ws.recv(), 15))
                        if reply.get("op") == "reply":
                            break
                    if reply["status"] == "ok":
                        tally["ok"] += 1
                    else:
                        code = reply["error"]["code"]
                        assert isinstance(code, str) and code, reply
                        tally[code] += 1
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                tally[f"close {code}"] += 1


@pytest.fixture
def fuzz_server(transactional_db, tmp_path):
    server = LiveServer(tmp_path / "daphne.log", WS_COMMAND_BURST="100000", WS_COMMAND_PER_MINUTE="6000000",
                        WS_AUTH_TIMEOUT="30")
    yield server
    server.stop()


def test_ten_thousand_generated_frames_get_coded_replies_and_no_traceback(fuzz_server):
    user = UserFactory()
    product = ProductFactory(stock=5)
    auction = live_auction()
    targets = {"cart": f"cart:{user.pk}", "user": f"user:{user.pk}", "auction": f"auction:{auction.pk}",
               "chat": f"chat:{uuid.uuid4()}", "delivery": f"delivery:{uuid.uuid4()}", "product": str(product.pk)}
    token = tokens_for(user)["access"]
    tally: Counter = Counter()

    async def main() -> None:
        jobs = [drive(fuzz_server.ws_url, FrameFuzzer(random.Random(SEED + i), targets), n=FRAMES_PER_AUTHED,
                      token=token, authed=True, tally=tally) for i in range(AUTHED_SOCKETS)]
        jobs += [drive(fuzz_server.ws_url, FrameFuzzer(random.Random(SEED + 100 + i), targets), n=FRAMES_PER_ANONYMOUS,
                       token=token, authed=False, tally=tally) for i in range(ANONYMOUS_SOCKETS)]
        await asyncio.gather(*jobs)

    asyncio.run(main())

    answered = sum(v for k, v in tally.items() if not k.startswith("close "))
    closes = {k: v for k, v in tally.items() if k.startswith("close ")}
    assert answered + sum(closes.values()) >= 10_500, tally
    assert tally["internal_error"] == 0, tally
    assert tally["bad_frame"] > 2000, tally  # the generator hits validation...
    handled = sum(v for k, v in tally.items() if k not in ("bad_frame", "rate_limited", "not_authenticated") and not k.startswith("close "))
    assert tally["ok"] > 1000 and handled > 2500, tally  # ...and well-formed frames reach the handlers
    assert tally["invalid"] + tally["invalid_amount"] > 50, tally  # hostile command data reaches the services
    assert {k.split()[1] for k in closes} <= {str(c) for c in GATEWAY_CLOSE_CODES}, tally  # never 1011
    log = fuzz_server.log()
    assert "Traceback" not in log, log[-4000:]
    assert " ERROR " not in log and "1011" not in log, log[-4000:]


def test_the_frames_of_the_issue_are_bad_frames_and_the_socket_stays_open(live):
    """Issue 14, rows 6 and 7, exactly as reported: a lone surrogate in ``ref`` before auth and in
    ``token`` (close 1011 and tracebacks before), and ``since`` = 2**64 (``internal_error``: Redis
    refused the ``XRANGE``)."""
    user = UserFactory()
    log_before = len(live.log())
    client = WSClient(live.ws_url)
    client.send('{"op":"ping","ref":"\\ud800"}')
    reply = client.recv()
    assert (reply["status"], reply["error"]["code"], reply["ref"]) == ("error", "bad_frame", None)
    client.send('{"op":"auth","ref":"t","token":"\\ud800"}')
    reply = client.recv()
    assert (reply["error"]["code"], reply["ref"]) == ("bad_frame", "t")
    client.auth(tokens_for(user)["access"])
    client.send('{"op":"subscribe","ref":"s","topic":"user:%s","since":18446744073709551616}' % user.pk)
    reply = client.recv()
    assert (reply["error"]["code"], reply["ref"]) == ("bad_frame", "s")
    assert client.request("subscribe", topic=f"user:{user.pk}", since=0)["status"] == "ok"
    assert "Traceback" not in live.log()[log_before:]
