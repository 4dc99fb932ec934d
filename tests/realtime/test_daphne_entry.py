"""The Daphne entry point's garbage-collector tuning (``WS_GC_THRESHOLD``)."""

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
