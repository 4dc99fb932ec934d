"""Parsing and validating client frames before the gateway acts on them (protocol v1).

Every rule here answers a frame that used to crash the gateway or leak a traceback (issue 14,
rows 6, 7 and 9; 10,000 malformed frames gave 33 ``internal_error`` replies, 11 closes with 1011
and 76 tracebacks):

- **Lone surrogates.** ``json.loads`` accepts ``"\\ud800"`` and returns a ``str`` that cannot be
  encoded as UTF-8; echoing it in a reply (``ref``) made Daphne fail to encode the frame (1011),
  and in ``token`` the JWT library failed. Every string, and every object key, must be valid
  Unicode text.
- **Numbers.** Integers must lie within ±(2**53 − 1), JavaScript's safe-integer range (every
  client can represent them; ``since`` = 2**64 made Redis refuse ``XRANGE``, huge amounts
  overflowed PostgreSQL columns); ``NaN``, ``Infinity`` and floats that overflow to infinity are
  refused.
- **Nesting** deeper than :data:`MAX_DEPTH` is refused (the walk is iterative, and so is nothing
  downstream that recurses over client data).
- **Types** of the fields the gateway reads (:data:`OP_FIELDS`): ``ref`` a string of at most 64
  characters or an integer; ``token``, ``topic``, ``name`` strings; ``since`` a non-negative
  integer; ``data`` an object. Missing optional fields are fine; extra fields are ignored.

Violations raise :class:`FrameError` (reply code ``bad_frame``), carrying the frame's ``ref``
when that could be read safely so that the client can match the error to its request.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_REF_LEN = 64
#: deepest nesting of arrays/objects accepted in a frame (the frame itself is depth 1)
MAX_DEPTH = 32
#: JavaScript's Number.MAX_SAFE_INTEGER: the largest integer every client can represent exactly
MAX_SAFE_INTEGER = 2**53 - 1
MAX_TOKEN_LEN = 4096
MAX_TOPIC_LEN = 200
MAX_NAME_LEN = 64

#: per op: the fields the gateway reads and the JSON types they may have (None = may be null/absent)
OP_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "auth": {"token": (str, type(None))},
    "subscribe": {"topic": (str, type(None)), "since": (int, type(None))},
    "unsubscribe": {"topic": (str, type(None))},
    "command": {"topic": (str, type(None)), "name": (str, type(None)), "data": (dict, type(None))},
    "ping": {},
}
_JSON_NAMES = {str: "a string", int: "an integer", dict: "an object", type(None): "null"}
_MAX_LEN = {"token": MAX_TOKEN_LEN, "topic": MAX_TOPIC_LEN, "name": MAX_NAME_LEN}


class FrameError(Exception):
    """A malformed client frame; answered with error code ``bad_frame``. ``ref`` is the frame's
    ``ref`` when it was valid (else None)."""

    def __init__(self, detail: str, *, ref: Any = None) -> None:
        super().__init__(detail)
        self.ref = ref


def _refuse_constant(name: str) -> Any:
    raise FrameError(f"{name} is not a JSON number.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise FrameError("Numbers must be finite.")
    return value


def _is_text(s: str) -> bool:
    """True when ``s`` holds no lone surrogate (so it can be encoded as UTF-8)."""
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_value(value: Any) -> None:
    """Walk ``value`` iteratively; raise :class:`FrameError` for a lone surrogate, an integer out
    of the safe range, or nesting deeper than :data:`MAX_DEPTH`."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if not _is_text(node):
                raise FrameError("Strings must be valid Unicode text (a lone surrogate such as \\ud800 is not).")
        elif isinstance(node, bool) or node is None or isinstance(node, float):
            continue
        elif isinstance(node, int):
            if not -MAX_SAFE_INTEGER <= node <= MAX_SAFE_INTEGER:
                raise FrameError(f"Integers must lie within ±{MAX_SAFE_INTEGER} (2**53 - 1).")
        elif isinstance(node, (dict, list)):
            if depth >= MAX_DEPTH:
                raise FrameError(f"Frames may nest at most {MAX_DEPTH} levels deep.")
            if isinstance(node, dict):
                for key, item in node.items():
                    if not _is_text(key):
                        raise FrameError("Object keys must be valid Unicode text.")
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in node)


def _valid_ref(ref: Any) -> bool:
    if isinstance(ref, bool):
        return False
    if isinstance(ref, str):
        return len(ref) <= MAX_REF_LEN and _is_text(ref)
    if isinstance(ref, int):
        return -MAX_SAFE_INTEGER <= ref <= MAX_SAFE_INTEGER
    return ref is None


def parse(text: str) -> dict[str, Any]:
    """Decode one client text frame into a dict whose every value passed the module's rules.

    Raises :class:`FrameError` for text that is not JSON, not an object, a bad ``ref``, or any
    value that breaks a rule (with ``ref`` set when the frame's ``ref`` itself was valid).
    """
    try:
        frame = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except FrameError:
        raise
    except (ValueError, RecursionError):
        raise FrameError("Frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise FrameError("Frame must be a JSON object.")
    ref = frame.get("ref")
    if not _valid_ref(ref):
        raise FrameError(f"ref must be a string of at most {MAX_REF_LEN} characters or an integer.")
    try:
        _check_value(frame)
    except FrameError as exc:
        raise FrameError(str(exc), ref=ref) from None
    return frame


def check_fields(op: str, frame: dict[str, Any]) -> None:
    """Check the types and bounds of the fields ``op`` reads (:data:`OP_FIELDS`); raise
    :class:`FrameError` (with the frame's ``ref``) for the first that is wrong. ``since`` must be
    a non-negative integer (the last seq the client received)."""
    ref = frame.get("ref")
    for field, types in OP_FIELDS.get(op, {}).items():
        value = frame.get(field)
        if isinstance(value, bool) or not isinstance(value, types):
            expected = " or ".join(_JSON_NAMES[t] for t in types)
            raise FrameError(f"{field} must be {expected}.", ref=ref)
        limit = _MAX_LEN.get(field)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise FrameError(f"{field} is longer than {limit} characters.", ref=ref)
    since = frame.get("since") if op == "subscribe" else None
    if since is not None and since < 0:
        raise FrameError("since must be a non-negative integer (the last seq you received).", ref=ref)
