"""``bench/hot/report.py``: the README's hot-path table is judged and written from a run's numbers.

Synthetic runs (no servers): a goal counts as met only when every one of issue 16's targets is,
and the README outside the generated block is left byte for byte.
"""

from __future__ import annotations

import copy

import pytest

from bench.hot.report import README_BEGIN, README_END, readme_section, update_readme, verdicts

TARGETS = {
    "couriers": {"rtt_p99_ms": 100, "watcher_late_p99_ms": 250},
    "chat": {"half_rtt_p99_ms": 50},
    "bids-hot": {"half_rtt_p99_ms": 50},
}


def chat_step(offered: float, accepted: float, rtt99: float, *, goal_step: bool = False) -> dict:
    return {"offered_per_s": offered, "accepted_per_s": accepted, "completed_per_s": accepted, "rtt_p99_ms": rtt99,
            "load": offered, "goal_step": goal_step}


def courier_step(*, accepted: float, rtt99: float, late99: float, missing: int = 0, dups: int = 0) -> dict:
    return {"offered_per_s": 842.0, "accepted_per_s": accepted, "completed_per_s": accepted, "rtt_p99_ms": rtt99,
            "watcher_late_p99_ms": late99, "goal_step": True, "couriers": 1000,
            "persistence": {"persisted": 10, "accepted": 10, "missing": missing, "duplicates": dups}}


def run(paths: dict) -> dict:
    return {"paths": paths, "targets": TARGETS, "generated_at": "2026-11-24T22:00:00+0000", "wall_seconds": 900.0,
            "load_average_start": [0.4, 0.5, 0.6], "load_average_end": [1.5, 1.0, 0.9],
            "git": {"commit": "a" * 40, "code_commit": "b" * 40}}


def chat(*, goal_rate: float, half_rtt: float, repeats: list[float] = ()) -> dict:
    return {"goal": 1000, "unit": "msg/s",
            "steps": [chat_step(500.0, 500.0, half_rtt), chat_step(1000.0, goal_rate, 40.0, goal_step=True)],
            "repeats": [chat_step(1000.0, x, 40.0) for x in repeats]}


def test_a_rate_goal_is_met_only_with_the_latency_at_half_the_rate():
    v = verdicts(run({"chat": chat(goal_rate=990.0, half_rtt=30.0)}))["chat"]
    assert v["met"] is True
    assert v["half"] == {"achieved": 500.0, "rtt_p99_ms": 30.0}

    slow = verdicts(run({"chat": chat(goal_rate=990.0, half_rtt=51.0)}))["chat"]
    assert slow["met"] is False
    assert [ok for _, ok in slow["checks"]] == [True, False]


def test_the_rate_is_the_median_of_the_goal_runs():
    v = verdicts(run({"chat": chat(goal_rate=1000.0, half_rtt=10.0, repeats=[120.0, 130.0])}))["chat"]
    assert v["achieved"] == 130.0 and v["runs"] == 3
    assert v["met"] is False


def test_a_missing_half_step_is_not_met():
    p = chat(goal_rate=1000.0, half_rtt=10.0)
    p["steps"] = p["steps"][1:]
    v = verdicts(run({"chat": p}))["chat"]
    assert v["half"] is None and v["met"] is False


@pytest.mark.parametrize("change, met", [
    ({}, True),
    ({"rtt99": 101.0}, False),
    ({"late99": 260.0}, False),
    ({"missing": 1}, False),
    ({"dups": 1}, False),
    ({"accepted": 700.0}, False),
])
def test_couriers_need_every_target(change, met):
    kw = {"accepted": 840.0, "rtt99": 90.0, "late99": 200.0} | change
    p = {"goal": 1000, "unit": "couriers", "steps": [courier_step(**kw)], "repeats": []}
    assert verdicts(run({"couriers": p}))["couriers"]["met"] is met


def test_the_readme_block_is_replaced_and_the_rest_kept(tmp_path):
    readme = tmp_path / "README.md"
    before, after = "# Title\n\nintro ✓\n\n", "\n\n## Next\ntext\n"
    readme.write_text(before + README_BEGIN + "\nold table\n" + README_END + after)
    section = readme_section(run({"chat": chat(goal_rate=120.0, half_rtt=900.0)}), report="bench/results/x.md")

    update_readme(readme, section)
    text = readme.read_text()
    assert text == before + section + after
    assert "old table" not in text
    assert "| chat (1,000 msg/s) |" in section and "**not met**" in section
    # idempotent: writing the same run again changes nothing
    update_readme(readme, section)
    assert readme.read_text() == text


def test_a_readme_without_the_block_is_refused_and_left_alone(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n" + README_END + "\n" + README_BEGIN + "\n")
    original = readme.read_text()
    with pytest.raises(ValueError, match="hot-paths:begin"):
        update_readme(readme, "anything")
    assert readme.read_text() == original


def test_verdicts_do_not_change_the_run():
    r = run({"chat": chat(goal_rate=990.0, half_rtt=30.0)})
    snapshot = copy.deepcopy(r)
    verdicts(r)
    readme_section(r, report="x.md")
    assert r == snapshot
