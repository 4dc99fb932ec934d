"""Contact-detail masking and the per-user send rate limit of the chat.

Marketplaces (OLX, Airbnb) keep buyers and sellers on the platform: phone numbers, email
addresses and links to outside sites are replaced in what participants see, while the original
text is kept for staff (Django admin, reports).

:func:`mask` finds, in this priority order (an earlier kind wins where spans overlap):

* **emails**: ``anna.schmidt@example.com``, and obfuscations ``anna at example dot com``,
  ``anna [at] example [dot] de``, ``anna(at)example(dot)com``, ``anna @ example . com``;
* **links** to outside domains: ``https://…``, ``www.…`` and bare ``shop.example.com/x`` with a
  known top-level domain. Links to ``CHAT_ALLOWED_LINK_DOMAINS`` (and their subdomains) are kept,
  and digits inside a kept link are not taken for a phone number;
* **phone numbers**: 7 to 15 digits, optionally ``+``/``00`` prefixed, separated by spaces,
  dots, dashes, slashes or parentheses: ``+49 170 1234567``, ``(030) 123-4567``,
  ``0170/1234567``, ``0170.123.45.67``, ``0 1 7 0 1 2 3 4 5 6 7``. Dates (``12.05.2024``),
  times, prices (``1,250.00``) and numbers of fewer than 7 digits are left alone.

Replacements: ``[phone hidden]``, ``[email hidden]``, ``[link hidden]``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from core.exceptions import ApplicationError

PHONE = "phone"
EMAIL = "email"
LINK = "link"
KINDS = (PHONE, EMAIL, LINK)

REPLACEMENT = {PHONE: "[phone hidden]", EMAIL: "[email hidden]", LINK: "[link hidden]"}

#: domains whose links stay visible (subdomains included); overridable in settings
DEFAULT_ALLOWED_LINK_DOMAINS = ["demo.market", "marketplace.local", "localhost", "127.0.0.1"]

#: top-level domains recognised in bare links ("shop.example.com") and word-obfuscated emails
TLDS = (
    "com|net|org|info|biz|io|co|me|app|shop|store|online|site|xyz|eu|de|at|ch|uk|fr|it|es|nl|be|"
    "pl|cz|se|no|dk|fi|pt|ie|ru|ua|tr|us|ca|au|nz|in|cn|jp|br|mx|ar|gr|ro|hu|sk|si|hr|bg|lt|lv|ee"
)

_LOCAL = r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"

EMAIL_RE = re.compile(
    rf"(?<![\w.%+\-]){_LOCAL}@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,24}}(?![\w\-])"
)
# "@" spelled out or spaced; the dot spelled out or spaced; requires a known TLD.
_AT = r"(?:\s*@\s*|\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*\.\s*|\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*|\s+dot\s+|\s+punkt\s+)"
OBFUSCATED_EMAIL_RE = re.compile(
    rf"(?<![\w.%+\-]){_LOCAL}{_AT}{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}(?:{TLDS})(?![\w\-])",
    re.IGNORECASE,
)
LINK_RE = re.compile(
    rf"""(?ix)
    (?:
        \b(?:https?|ftp)://[^\s<>"']+                                  # scheme
      | \bwww\.[^\s<>"']+                                             # www.
      | (?<![\w@.\-])(?:{_LABEL}\.)+(?:{TLDS})\b(?![.\-]?\w)(?:[/?\#][^\s<>"']*)?  # bare domain
    )
    """
)
# A run of digits and separators, optionally starting with + or 00, ending in a digit.
PHONE_CANDIDATE_RE = re.compile(r"(?<![\w+])(?:\+|\(\s*\+?)?\d[\d\s().\-/]{4,}\d(?!\w)")
DATE_RE = re.compile(r"^\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}$")
TIME_RE = re.compile(r"^\d{1,2}[:.]\d{2}(?:\s*-\s*\d{1,2}[:.]\d{2})?$")
_TRAILING = ".,;:!?)]}'\""


@dataclass
class MaskResult:
    """``text`` as participants see it, and the ``kinds`` that were hidden (subset of KINDS)."""

    text: str
    kinds: list[str] = field(default_factory=list)

    @property
    def masked(self) -> bool:
        return bool(self.kinds)


def allowed_link_domains() -> list[str]:
    """Lower-case domains whose links stay visible: ``settings.CHAT_ALLOWED_LINK_DOMAINS`` (or
    the defaults) plus the host of ``settings.FRONTEND_URL``."""
    domains = list(getattr(settings, "CHAT_ALLOWED_LINK_DOMAINS", DEFAULT_ALLOWED_LINK_DOMAINS))
    host = urlsplit(getattr(settings, "FRONTEND_URL", "") or "").hostname
    if host:
        domains.append(host)
    return [d.lower().strip(".") for d in domains if d]


def _link_host(link: str) -> str:
    candidate = link if "://" in link else "http://" + link
    try:
        return (urlsplit(candidate).hostname or "").lower().strip(".")
    except ValueError:
        return ""


def _is_allowed(host: str, allowed: list[str]) -> bool:
    return bool(host) and any(host == d or host.endswith("." + d) for d in allowed)


def _looks_like_phone(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    if digits < 7 or digits > 15:
        return False
    stripped = candidate.strip()
    if DATE_RE.match(stripped) or TIME_RE.match(stripped):
        return False
    # Decimal numbers with a single separator ("1234.5678") are amounts or measures, not phones.
    if re.fullmatch(r"\d+[.,]\d{1,2}", stripped):
        return False
    return True


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def mask(text: str) -> MaskResult:
    """Hide contact details in ``text`` (see the module docstring). Never raises; pure."""
    if not text:
        return MaskResult(text=text)
    spans: list[tuple[int, int, str]] = []  # (start, end, kind); kind "" = keep (allowed link)
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, kind: str) -> None:
        if end > start and not _overlaps((start, end), taken):
            spans.append((start, end, kind))
            taken.append((start, end))

    for rx in (EMAIL_RE, OBFUSCATED_EMAIL_RE):
        for m in rx.finditer(text):
            add(m.start(), m.end(), EMAIL)
    allowed = allowed_link_domains()
    for m in LINK_RE.finditer(text):
        start, end = m.start(), m.end()
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        link = text[start:end]
        add(start, end, "" if _is_allowed(_link_host(link), allowed) else LINK)
    for m in PHONE_CANDIDATE_RE.finditer(text):
        start, end = m.start(), m.end()
        candidate = text[start:end]
        # "(" that opens an area code belongs to the number; a stray trailing ")" does not.
        if candidate.count(")") > candidate.count("("):
            while end > start and text[end - 1] == ")":
                end -= 1
            candidate = text[start:end]
        if _looks_like_phone(candidate):
            add(start, end, PHONE)
    if not any(kind for _, _, kind in spans):
        return MaskResult(text=text)
    out, pos, kinds = [], 0, []
    for start, end, kind in sorted(spans):
        if not kind:
            continue
        out.append(text[pos:start])
        out.append(REPLACEMENT[kind])
        pos = end
        if kind not in kinds:
            kinds.append(kind)
    out.append(text[pos:])
    return MaskResult(text="".join(out), kinds=sorted(kinds))


# --- rate limit ---------------------------------------------------------------------------------

#: per-user send limits across REST and the socket: ((window seconds, max messages), ...)
DEFAULT_SEND_LIMITS: tuple[tuple[int, int], ...] = ((10, 20), (60, 60))


def send_limits() -> tuple[tuple[int, int], ...]:
    return tuple(getattr(settings, "CHAT_SEND_RATE_LIMITS", DEFAULT_SEND_LIMITS))


def check_rate(*, user_id, scope: str = "send", limits: tuple[tuple[int, int], ...] | None = None) -> None:
    """Count one action of ``user_id`` in ``scope`` against fixed windows in Redis (one round
    trip) and raise ``ApplicationError`` 429 ``rate_limited`` (with ``retry_after_ms``) when any
    window is over its maximum. ``limits`` defaults to :func:`send_limits`."""
    from realtime.streams import sync_client

    limits = limits if limits is not None else send_limits()
    if not limits:
        return
    now = time.time()
    prefix = settings.REALTIME["REDIS_PREFIX"]
    pipe = sync_client().pipeline(transaction=False)
    keys = []
    for window, _maximum in limits:
        slot = int(now // window)
        key = f"{prefix}:chat:rate:{scope}:{user_id}:{window}:{slot}"
        keys.append((key, window, slot))
        pipe.set(key, 0, ex=window + 1, nx=True)
        pipe.incr(key)
    results = pipe.execute()
    for i, (window, maximum) in enumerate(limits):
        count = results[2 * i + 1]
        if count > maximum:
            retry = (keys[i][2] + 1) * window - now
            raise ApplicationError(
                f"Too many messages; at most {maximum} per {window} s. Retry in {retry:.1f} s.",
                code="rate_limited", status=429, extra={"retry_after_ms": int(retry * 1000) + 1},
            )
