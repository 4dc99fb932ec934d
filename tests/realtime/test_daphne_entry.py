"""The Daphne entry point: garbage-collector tuning (``WS_GC_THRESHOLD``) and autobahn log text."""

import gc

import pytest

from realtime.daphne import DEFAULT_GC_THRESHOLD, tune_gc


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_default_thresholds_are_applied_and_startup_objects_frozen(restore_gc, monkeypatch):
    monkeypatch.delenv("WS_GC_THRESHOLD", raising=False)
    assert tune_gc() == tuple(int(x) for x in DEFAULT_GC_THRESHOLD.split(","))
    assert gc.get_threshold() == (100000, 50, 100)
    assert gc.get_freeze_count() > 0


def test_off_keeps_pythons_thresholds(restore_gc):
    before = gc.get_threshold()
    assert tune_gc("off") is None
    assert gc.get_threshold() == before


@pytest.mark.parametrize("spec", ["1000", "a,b,c", "0,10,10", "1,2,3,4"])
def test_malformed_value_is_refused_before_anything_changes(restore_gc, spec):
    before = gc.get_threshold()
    with pytest.raises(ValueError):
        tune_gc(spec)
    assert gc.get_threshold() == before


def test_autobahn_builds_debug_log_text_only_when_a_line_is_written(monkeypatch):
    """The launcher defers autobahn's per-frame ``hltype``/``hlval`` (click styling) until a log
    line is formatted; the text is the same as autobahn's own."""
    import autobahn.twisted.websocket as tw
    import autobahn.websocket.protocol as proto
    from autobahn import util

    import realtime.daphne  # noqa: F401 - applies the change on import

    expected_type, expected_val = util.hltype(proto.WebSocketProtocol.sendData), util.hlval(1234)
    calls = []
    real_hl = util.hl
    monkeypatch.setattr(util, "hl", lambda *a, **k: calls.append(a) or real_hl(*a, **k))
    deferred = [proto.hltype(proto.WebSocketProtocol.sendData), proto.hlval(1234), tw.hlval("peer")]
    assert calls == []  # nothing styled while the arguments are built
    assert f"{deferred[0]}" == expected_type and str(deferred[1]) == expected_val
    assert "{x:>10}".format(x=deferred[2]).endswith(real_hl("peer", color="white", bold=True))
    assert calls  # styled once formatted
