"""Contact-detail masking and the per-user send rate limit of the chat.

Marketplaces (OLX, Airbnb) keep buyers and sellers on the platform: phone numbers, email
addresses and links to outside sites are replaced in what participants see, while the original
text is kept for staff (Django admin, reports).

:func:`mask` first builds a **normalised view** of the text, in which each character remembers
where it came from, so that what is found there is hidden in the original text (which is otherwise
shown unchanged):

* Unicode NFKC per character: fullwidth and other compatibility forms become ASCII
  (``ali＠example．com`` → ``ali@example.com``, ``０１７０`` → ``0170``, ``①`` → ``1``);
* invisible format characters (zero-width space/joiners, soft hyphen, bidi controls: category Cf)
  and combining marks are dropped, so ``0170\u200b123\u200b4567`` is one number;
* common look-alike letters (Cyrillic/Greek ``а е о р с х ο ν``…) and dots (``。`` ``․``) are folded;
* runs of four or more single characters separated by spaces are joined:
  ``a l i @ e x a m p l e . c o m`` → ``ali@example.com``.

It then finds, in this priority order (an earlier kind wins where spans overlap):

* **emails**: ``anna.schmidt@example.com``, and obfuscations ``anna at example dot com``,
  ``anna [at] example [dot] de``, ``anna(at)example(dot)com``, ``anna @ example . com``;
* **links** to outside domains: ``https://…``, ``www.…``, bare ``shop.example.com/x`` with a
  known top-level domain, and obfuscated ``evil[.]com``, ``evil(dot)com``, ``evil . com`` and
  ``evil dot com`` (spelled out: common TLDs only, and not after "the"/"a"/"this"…). Links to
  ``CHAT_ALLOWED_LINK_DOMAINS`` (and their subdomains) are kept, and digits inside a kept link are
  not taken for a phone number;
* **phone numbers**: 7 to 15 digits, optionally ``+``/``00`` prefixed, separated by spaces,
  dots, commas, dashes, slashes or parentheses: ``+49 170 1234567``, ``(030) 123-4567``,
  ``0170/1234567``, ``0170.123.45.67``, ``0,1,7,0,1,2,3,4,5,6,7``. Left alone: dates
  (``12.05.2024``, ``2024-05-12``) and clock times (``10:30``), decimals (``1234.50``), amounts
  grouped in thousands (``1,250,000`` up to 8 digits; any size next to a currency or unit such as
  ``€``, ``EUR``, ``pcs``), numbers after ``#``/"order"/"invoice"/"ref" that do not start with 0 or
  +, order numbers such as ``MK-1234567890``, and numbers of fewer than 7 digits.

Replacements: ``[phone hidden]``, ``[email hidden]``, ``[link hidden]``.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from core.exceptions import ApplicationError
from core.redis import sync_client

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
#: TLDs recognised after a spelled-out " dot " (no English word among them: "it dot in" is text)
SPOKEN_TLDS = "com|net|org|info|biz|io|de|uk|ru|eu|fr|nl|pl|shop|store|online|site|xyz|app"
#: words that, before a spelled-out " dot ", mean ordinary text ("the dot com bubble")
_DOT_STOPWORDS = frozenset(
    "a an the this that one each every any no my your his her its our their big small red blue green "
    "black white little".split()
)

#: look-alike characters NFKC leaves alone, folded to what they imitate
CONFUSABLES = str.maketrans({
    # Cyrillic
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    # Greek
    "ο": "o", "α": "a", "ν": "v", "ρ": "p", "ι": "i", "κ": "k", "τ": "t", "υ": "u",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # dots and at signs
    "。": ".", "｡": ".", "․": ".", "‧": ".", "⸳": ".", "∙": ".", "ⓐ": "@",
})

_LOCAL = r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"

EMAIL_RE = re.compile(
    rf"(?<![\w.%+\-]){_LOCAL}@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,24}}(?![\w\-])"
)
# "@" spelled out or spaced; the dot spelled out or spaced; requires a known TLD.
_AT = r"(?:\s*@\s*|\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*\.\s*|\s*[\(\[\{<]\s*(?:dot|\.)\s*[\)\]\}>]\s*|\s+dot\s+|\s+punkt\s+)"
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
# "evil[.]com", "evil(dot)com", "evil . com" (spaces on both sides; "Ok. It works" is a sentence).
_BRACKET_DOT = r"\s*[\(\[\{<]\s*(?:\.|dot|punkt)\s*[\)\]\}>]\s*"
_SPACED_DOT = r"\s+\.\s+"
OBFUSCATED_LINK_RE = re.compile(
    rf"(?<![\w@.\-]){_LABEL}(?:(?:{_BRACKET_DOT}|{_SPACED_DOT}|\.){_LABEL})*(?:{_BRACKET_DOT}|{_SPACED_DOT})(?:{TLDS})(?![\w\-])",
    re.IGNORECASE,
)
# "evil dot com", "shop dot evil dot de"
SPOKEN_LINK_RE = re.compile(
    rf"(?<![\w@.\-])({_LABEL})(?:\s+(?:dot|punkt)\s+{_LABEL})*\s+(?:dot|punkt)\s+(?:{SPOKEN_TLDS})(?![\w\-])",
    re.IGNORECASE,
)
# A run of digits and separators, optionally starting with + or 00, ending in a digit. Not right
# after a letter and a dash ("MK-1234567890" is an order number).
PHONE_CANDIDATE_RE = re.compile(r"(?<![\w+])(?<![A-Za-z]-)(?:\+|\(\s*\+?)?\d[\d\s().,\-/]{4,}\d(?!\w)")
DATE_RE = re.compile(r"^\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}$")
TIME_RE = re.compile(r"^\d{1,2}[:.]\d{2}(?:\s*-\s*\d{1,2}[:.]\d{2})?$")
# Dates and clock times inside a longer run ("on 12.05.2024 10:30"), blanked out before phones are
# looked for; day and month must be plausible, so "01.70.1234" is not a date.
IN_TEXT_DATE_RE = re.compile(
    r"(?<![\d.,])(?:(\d{1,2})[./\-](\d{1,2})[./\-](?:\d{4}|\d{2})|\d{4}-(\d{2})-(\d{2}))(?![\d])"
)
IN_TEXT_TIME_RE = re.compile(r"(?<![\d.,:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])")
# 1,250,000 / 1.250.000,00 / 1 250 000 / 1'250'000: thousands groups with one separator.
GROUPED_AMOUNT_RE = re.compile(r"^[1-9]\d{0,2}([,. '’])\d{3}(?:\1\d{3})*(?:[.,]\d{1,2})?$")
_AMOUNT_CONTEXT_BEFORE = re.compile(r"(?:[€$£¥₺₽]|\b(?:eur|usd|gbp|chf|pln|sek|nok|dkk|czk|huf|ron)\.?)\s*$", re.I)
_AMOUNT_CONTEXT_AFTER = re.compile(
    r"^\s*(?:[€$£¥₺₽%]|(?:eur|euro|euros|usd|dollars?|gbp|pounds?|chf|pln|zł|sek|nok|dkk|czk|huf|ron|kr|"
    r"pcs|pieces|units|items|stk|stück|x|kg|g|t|km|m|mm|cm|ml|l|gb|mb|tb|rpm|mah|w|kw|kwh|v)\b)",
    re.I,
)
_REFERENCE_BEFORE = re.compile(
    r"(?:#|\b(?:order|invoice|ref|reference|sku|item|art|article|tracking|no|nr|number)\.?\s*(?:no\.?|nr\.?|number|#)?\s*:?)\s*$",
    re.I,
)
_SPACED_RUN_RE = re.compile(r"(?<!\S)(?:\S[ \t]+){3,}\S(?!\S)")
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


def normalize(text: str, *, join_spaced: bool = True) -> tuple[str, list[int]]:
    """The normalised view of ``text`` (see the module docstring) and, for each of its
    characters, the index of the original character it came from. ``join_spaced=False`` leaves
    runs of spaced single characters as they are."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            chars.append(ch)
            origin.append(i)
            continue
        if unicodedata.category(ch) in ("Cf", "Mn", "Me"):
            continue  # zero-width and bidi controls, soft hyphen, combining marks
        for out in unicodedata.normalize("NFKC", ch).translate(CONFUSABLES):
            if unicodedata.category(out) in ("Cf", "Mn", "Me"):
                continue
            chars.append(out)
            origin.append(i)
    view = "".join(chars)
    # Join "a l i @ e x a m p l e . c o m" (runs of single characters between spaces).
    runs = list(_SPACED_RUN_RE.finditer(view)) if join_spaced else []
    if runs:
        keep = [True] * len(view)
        for m in runs:
            for j in range(m.start(), m.end()):
                if view[j] in " \t":
                    keep[j] = False
        view = "".join(c for c, k in zip(view, keep) if k)
        origin = [o for o, k in zip(origin, keep) if k]
    return view, origin


def _date_or_time_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in IN_TEXT_DATE_RE.finditer(text):
        a, b = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))  # (day|month, month|day)
        x, y = int(a), int(b)
        if (1 <= x <= 31 and 1 <= y <= 12) or (1 <= x <= 12 and 1 <= y <= 31):
            spans.append((m.start(), m.end()))
    spans += [(m.start(), m.end()) for m in IN_TEXT_TIME_RE.finditer(text)]
    return spans


def _is_phone(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` (a phone candidate) is a phone number, given its context."""
    candidate = text[start:end].strip()
    digits = sum(ch.isdigit() for ch in candidate)
    if digits < 7 or digits > 15:
        return False
    if DATE_RE.match(candidate) or TIME_RE.match(candidate):
        return False
    # Decimal numbers with a single separator ("1234.5678") are amounts or measures, not phones.
    if re.fullmatch(r"\d+[.,]\d{1,2}", candidate):
        return False
    phone_like_start = candidate.startswith(("+", "0", "(")) and not re.match(r"0[.,]\d", candidate)
    if not phone_like_start:
        before, after = text[max(0, start - 24):start], text[end:end + 12]
        if _AMOUNT_CONTEXT_BEFORE.search(before) or _AMOUNT_CONTEXT_AFTER.match(after):
            return False  # a price or a quantity
        if _REFERENCE_BEFORE.search(before):
            return False  # "order #10234567", "invoice no. 20240001"
        if GROUPED_AMOUNT_RE.match(candidate) and digits <= 8:
            return False  # "1,250,000"
    return True


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _find(view: str) -> list[tuple[int, int, str]]:
    """Spans ``(start, end, kind)`` of ``view`` to hide (kind ``""``: an allowed link to keep)."""
    spans: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, kind: str) -> None:
        if end > start and not _overlaps((start, end), taken):
            spans.append((start, end, kind))
            taken.append((start, end))

    for rx in (EMAIL_RE, OBFUSCATED_EMAIL_RE):
        for m in rx.finditer(view):
            add(m.start(), m.end(), EMAIL)
    allowed = allowed_link_domains()
    for m in LINK_RE.finditer(view):
        start, end = m.start(), m.end()
        while end > start and view[end - 1] in _TRAILING:
            end -= 1
        add(start, end, "" if _is_allowed(_link_host(view[start:end]), allowed) else LINK)
    for m in OBFUSCATED_LINK_RE.finditer(view):
        host = re.sub(rf"{_BRACKET_DOT}|{_SPACED_DOT}", ".", m.group(0), flags=re.IGNORECASE)
        add(m.start(), m.end(), "" if _is_allowed(_link_host(host), allowed) else LINK)
    for m in SPOKEN_LINK_RE.finditer(view):
        if m.group(1).lower() not in _DOT_STOPWORDS:
            add(m.start(), m.end(), LINK)
    # Phones: dates and times are blanked (same length, so offsets hold) before looking.
    blanked = list(view)
    for start, end in _date_or_time_spans(view):
        blanked[start:end] = "§" * (end - start)
    blanked_view = "".join(blanked)
    for start, end in _phone_spans(blanked_view):
        add(start, end, PHONE)
    return spans


def _phone_spans(text: str) -> list[tuple[int, int]]:
    """Phone numbers in ``text`` (dates and times already blanked)."""
    found = []
    for m in PHONE_CANDIDATE_RE.finditer(text):
        start, end = m.start(), m.end()
        candidate = text[start:end]
        # "(" that opens an area code belongs to the number; a stray trailing ")" does not.
        if candidate.count(")") > candidate.count("("):
            while end > start and text[end - 1] == ")":
                end -= 1
        pieces = [(start + p.start(), start + p.end()) for p in re.finditer(r"[^,]+", text[start:end])
                  if p.group().strip()]
        if len(pieces) > 1 and re.search(r",\s", text[start:end]):
            # "10, 20, 30, 40" is a list; "0, 1, 7, 0, 1, 2, 3, 4, 5, 6, 7" is a phone spelled out.
            if not all(len(text[a:b].strip()) == 1 for a, b in pieces):
                for a, b in pieces:
                    found += _phone_spans_in(text, a, b)
                continue
        found += _phone_spans_in(text, start, end)
    return found


def _phone_spans_in(text: str, start: int, end: int) -> list[tuple[int, int]]:
    while start < end and text[start] in " ,.-/":
        start += 1
    while end > start and text[end - 1] in " ,.-/":
        end -= 1
    return [(start, end)] if end > start and _is_phone(text, start, end) else []


def mask(text: str) -> MaskResult:
    """Hide contact details in ``text`` (see the module docstring). Never raises; pure. The
    result is the original text with each hidden span replaced; nothing else changes."""
    if not text:
        return MaskResult(text=text)
    # Look at the text as written and, when it has runs of spaced single characters, with those
    # runs joined; a span found in either view is hidden (mapped back to the original text).
    found: list[tuple[int, int, str]] = []
    views = [normalize(text, join_spaced=False)]
    if _SPACED_RUN_RE.search(views[0][0]):
        views.append(normalize(text))
    for view, origin in views:
        found += [(origin[s], origin[e - 1] + 1, kind) for s, e, kind in _find(view) if kind]
    if not found:
        return MaskResult(text=text)
    merged: list[list] = []  # [start, end, kind]; overlapping spans of the two views become one
    for start, end, kind in sorted(found):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, kind])
    out, pos = [], 0
    for start, end, kind in merged:
        out.append(text[pos:start])
        out.append(REPLACEMENT[kind])
        pos = end
    kinds = {kind for _, _, kind in merged}
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
