"""``bench/hot_paths.py --quick`` on tiny numbers, end to end: its own embedded PostgreSQL and
Redis, one Daphne, Celery, load processes, every path through the real socket commands.

Asserts behaviour only, never timings (speed is measured and reported by ``make bench``): every
accepted courier point is stored exactly once, chat ``seq`` has no gap or duplicate (in
PostgreSQL and on every socket), and every auction's price equals a sequential replay of its
stored bids through ``auctions.rules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def hot(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("hot") / "hot.json"
    ladder = {"couriers": [12], "bids-many": [40], "bids-hot": [25], "chat": [40]}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "hot_paths.py"), "--quick", "--no-profile", "--no-baseline",
         "--ladder", json.dumps(ladder), "--step-seconds", "3", "--conversations", "6",
         "--compress", "604800", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def only_step(hot: dict, path: str) -> dict:
    (step,) = hot["paths"][path]["steps"]
    return step


def test_every_accepted_courier_point_is_stored_exactly_once(hot):
    step = only_step(hot, "couriers")
    stored = step["persistence"]
    assert step["accepted"] > 0 and stored["accepted"] > 0
    assert stored["persisted"] == stored["accepted"]
    assert stored["missing"] == 0 and stored["duplicates"] == 0


def test_chat_seq_has_no_gap_or_duplicate(hot):
    step = only_step(hot, "chat")
    assert step["accepted"] > 0
    assert step["chat_seq"]["messages"] >= step["accepted"]
    assert step["chat_seq"]["with_gap_or_duplicate"] == 0
    assert step["gateway_seq"]["frames"] > 0
    assert step["gateway_seq"]["gaps"] == 0 and step["gateway_seq"]["dups"] == 0


@pytest.mark.parametrize("shape", ["bids-many", "bids-hot"])
def test_every_auction_ends_at_the_price_a_sequential_replay_gives(hot, shape):
    step = only_step(hot, shape)
    replay = step["replay"]
    assert step["accepted"] > 0 and replay["bids"] >= step["accepted"]
    assert replay["auctions"] >= 1
    assert replay["invalid_bids"] == 0 and replay["price_after_mismatch"] == 0
    assert replay["final_mismatch"] == [] and replay["ok"] == replay["auctions"]
