"""realtime.frames: the rules a client frame must pass before the gateway acts on it."""

import pytest

from realtime import frames
from realtime.frames import FrameError


@pytest.mark.parametrize("text", [
    '{"op":"ping","ref":"\\ud800"}',                 # lone surrogate in ref
    '{"op":"auth","ref":"1","token":"\\udfff"}',      # ...in token
    '{"op":"ping","ref":"1","x":{"\\ud800":1}}',      # ...in a key
    '{"op":"ping","ref":"1","x":["ok","a\\ud83d"]}',  # ...nested, a high surrogate without its pair
])
def test_lone_surrogates_anywhere_are_bad_frames(text):
    with pytest.raises(FrameError):
        frames.parse(text)


def test_a_surrogate_pair_is_one_valid_character():
    assert frames.parse('{"op":"ping","ref":"\\ud83d\\ude00"}')["ref"] == "\U0001F600"


@pytest.mark.parametrize("number", ["18446744073709551616", "-9007199254740992", "1" + "0" * 50])
def test_integers_outside_the_safe_range_are_bad_frames_that_keep_the_ref(number):
    with pytest.raises(FrameError) as info:
        frames.parse('{"op":"subscribe","ref":"r","since":%s}' % number)
    assert info.value.ref == "r"  # the client can match the error to its request


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_numbers_that_are_not_finite_are_bad_frames(number):
    with pytest.raises(FrameError):
        frames.parse('{"op":"command","ref":"r","data":{"max_amount":%s}}' % number)


def test_the_largest_safe_integer_passes():
    assert frames.parse('{"op":"subscribe","since":9007199254740991}')["since"] == 2**53 - 1


def test_nesting_is_limited():
    deep = "[" * frames.MAX_DEPTH + "]" * frames.MAX_DEPTH
    with pytest.raises(FrameError):
        frames.parse('{"op":"ping","x":%s}' % deep)
    ok = "[" * (frames.MAX_DEPTH - 2) + "]" * (frames.MAX_DEPTH - 2)
    assert frames.parse('{"op":"ping","x":%s}' % ok)["op"] == "ping"
    with pytest.raises(FrameError):
        frames.parse("[" * 100_000)  # the JSON decoder's recursion limit, not a crash


@pytest.mark.parametrize("ref", ['"' + "r" * 65 + '"', "true", "[]", "1.5"])
def test_bad_refs_are_refused_without_echoing_them(ref):
    with pytest.raises(FrameError) as info:
        frames.parse('{"op":"ping","ref":%s}' % ref)
    assert info.value.ref is None


@pytest.mark.parametrize("op, field, value", [
    ("auth", "token", 123), ("auth", "token", ["a"]), ("subscribe", "topic", 7), ("subscribe", "since", "5"),
    ("subscribe", "since", True), ("subscribe", "since", -1), ("command", "name", {}), ("command", "data", [1]),
    ("command", "topic", "x" * 201), ("auth", "token", "x" * 4097),
])
def test_fields_of_the_wrong_type_or_size_are_bad_frames(op, field, value):
    with pytest.raises(FrameError) as info:
        frames.check_fields(op, {"op": op, "ref": 9, field: value})
    assert info.value.ref == 9


def test_absent_optional_fields_and_extra_fields_pass():
    frames.check_fields("subscribe", {"op": "subscribe", "topic": "user:1", "extra": [1]})
    frames.check_fields("command", {"op": "command", "topic": "cart:1", "name": "clear"})
