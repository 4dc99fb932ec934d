"""The real input of the hot-path benchmarks (``bench/data/``, see its README), read into plain
objects; no Django.

- :func:`load_tracks`: the GPX tracks (gpxpy) at their recorded timing and the Denver traces
  (CSV, no timestamps) at 1 Hz, as :class:`Track` (fix times in seconds from the track's start).
- :class:`CourierReplay`: one courier replaying one track from its own start index and phase,
  forwards then backwards, continued from step to step (no jump between steps).
- :func:`load_auctions`: the eBay auctions and their bids in time order (:class:`EbayAuction`).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import gpxpy

from delivery.geo import bearing_deg, haversine_m

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
GPS_DIR = DATA_DIR / "gps"
EBAY_CSV = DATA_DIR / "ebay-auctions.csv"

#: accuracy sent with every replayed point, metres (the files do not record it)
ACCURACY_M = 5.0
#: golden-ratio fraction: spreads start indexes and phases evenly whatever the courier count
_PHI = (math.sqrt(5) - 1) / 2


@dataclass(frozen=True)
class Fix:
    """One recorded position: ``t`` seconds since the track's first fix, WGS 84 degrees."""

    t: float
    lat: float
    lon: float


@dataclass(frozen=True)
class Track:
    """A recorded track: ``name`` (file stem), ``timing`` (``"recorded"`` or ``"1 Hz"``) and its
    fixes in time order (at least two, strictly increasing ``t``)."""

    name: str
    timing: str
    fixes: tuple[Fix, ...]

    @property
    def duration_s(self) -> float:
        return self.fixes[-1].t - self.fixes[0].t

    @property
    def mean_rate_hz(self) -> float:
        """Fixes per second over the whole track (1.0 for the 1 Hz traces)."""
        return (len(self.fixes) - 1) / self.duration_s


def _gpx_track(path: Path) -> Track:
    with open(path, encoding="utf-8") as fh:
        gpx = gpxpy.parse(fh)
    points = [p for trk in gpx.tracks for seg in trk.segments for p in seg.points if p.time is not None]
    t0: datetime = points[0].time
    fixes, last_t = [], None
    for p in points:
        t = (p.time - t0).total_seconds()
        if last_t is not None and t <= last_t:  # a repeated timestamp is not a new fix
            continue
        fixes.append(Fix(t, p.latitude, p.longitude))
        last_t = t
    return Track(path.stem, "recorded", tuple(fixes))


def _csv_track(path: Path) -> Track:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return Track(path.stem, "1 Hz", tuple(Fix(float(i), float(r["latitude"]), float(r["longitude"]))
                                          for i, r in enumerate(rows)))


def load_tracks() -> list[Track]:
    """Every track of ``bench/data/gps``: the GPX ones first (file-name order), then the CSV
    traces. Raises ``FileNotFoundError`` when the folder is missing."""
    gpx = sorted(GPS_DIR.glob("*.gpx"))
    traces = sorted(GPS_DIR.glob("*.csv"))
    if not gpx and not traces:
        raise FileNotFoundError(f"no tracks in {GPS_DIR}")
    return [_gpx_track(p) for p in gpx] + [_csv_track(p) for p in traces]


def assign_tracks(tracks: list[Track], n: int, *, gpx_share: float = 0.2) -> list[Track]:
    """The track of each of ``n`` couriers: ``gpx_share`` of them on the recorded-timing GPX
    tracks (in turn), the others on the 1 Hz traces (in turn), interleaved so that any prefix of
    the list has the same mix (a step with fewer couriers uses the first ones)."""
    gpx = [t for t in tracks if t.timing == "recorded"]
    hz = [t for t in tracks if t.timing != "recorded"] or gpx
    gpx = gpx or hz
    out, g, h = [], 0, 0
    for i in range(n):
        # courier i is a GPX courier when the running share would otherwise fall below gpx_share
        if gpx_share > 0 and (g + 1) <= gpx_share * (i + 1) + 1e-9:
            out.append(gpx[g % len(gpx)])
            g += 1
        else:
            out.append(hz[h % len(hz)])
            h += 1
    return out


class CourierReplay:
    """Courier ``index`` replaying ``track``: starts at its own fix (spread over the track by the
    golden ratio) and its own phase within the first second, runs the track forwards, then
    backwards, and so on, with the recorded gaps between fixes (1 s on the 1 Hz traces). State is
    kept between :meth:`take` calls, so consecutive steps continue the route: a fix that fell due
    while the benchmark paused between steps is sent at the start of the next step."""

    def __init__(self, track: Track, index: int) -> None:
        self.track = track
        n = len(track.fixes)
        self.pos = int((index * _PHI) % 1.0 * (n - 1))
        self.step = -1 if self.pos == n - 1 or (self.pos > 0 and (index // 2) % 2) else 1
        self.phase = (index * _PHI * 7) % 1.0  # seconds into a step before this courier's first point
        self.next_t: float | None = None  # when the fix at ``pos`` is due (benchmark clock, s)
        self.prev: Fix | None = None  # the fix sent last

    def _advance(self) -> float:
        """Move to the next fix of the traversal; returns the recorded gap to it (s)."""
        fixes = self.track.fixes
        if not 0 <= self.pos + self.step < len(fixes):
            self.step = -self.step
        gap = abs(fixes[self.pos + self.step].t - fixes[self.pos].t)
        self.pos += self.step
        return gap

    def take(self, start: float, duration: float) -> list[dict]:
        """Points due in ``[start, start + duration)`` (seconds on the benchmark's clock; calls
        in increasing ``start``): ``{"t", "lat", "lon", "speed_mps", "heading_deg"}``. Speed and
        heading come from the previous fix and the recorded time between the two (None for the
        first point)."""
        if self.next_t is None or self.next_t < start:
            self.next_t = start + self.phase
        out = []
        end = start + duration
        while self.next_t < end:
            fix = self.track.fixes[self.pos]
            speed = heading = None
            if self.prev is not None:
                dist = haversine_m(self.prev.lat, self.prev.lon, fix.lat, fix.lon)
                speed = round(dist / max(1e-3, abs(fix.t - self.prev.t)), 2)
                heading = round(bearing_deg(self.prev.lat, self.prev.lon, fix.lat, fix.lon), 1) if dist > 0.5 else None
            out.append({"t": round(self.next_t, 4), "lat": fix.lat, "lon": fix.lon, "speed_mps": speed,
                        "heading_deg": heading})
            self.prev = fix
            self.next_t += self._advance()
        return out


@dataclass(frozen=True)
class EbayBid:
    """One recorded bid: ``t_days`` since the auction started, the bidder's pseudonym, the proxy
    maximum (``Decimal``, two places)."""

    t_days: float
    bidder: str
    max_bid: Decimal


@dataclass(frozen=True)
class EbayAuction:
    """One recorded auction: eBay id, item, length in days (3, 5 or 7), opening bid, recorded
    final price, and its bids in time order (ties keep the file's order)."""

    id: str
    item: str
    days: int
    open_bid: Decimal
    final_price: Decimal
    bids: tuple[EbayBid, ...]

    @property
    def bidders(self) -> list[str]:
        """Distinct pseudonyms in order of their first bid."""
        return list(dict.fromkeys(b.bidder for b in self.bids))


def _money(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.01"))


def load_auctions() -> list[EbayAuction]:
    """The auctions of ``ebay-auctions.csv`` in file order. Raises ``FileNotFoundError``."""
    with open(EBAY_CSV, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_id: dict[str, list[dict]] = {}
    for r in rows:
        by_id.setdefault(r["auction_id"], []).append(r)
    out = []
    for aid, rs in by_id.items():
        first = rs[0]
        bids = sorted((EbayBid(float(r["bid_time_days"]), r["bidder"], _money(r["max_bid"])) for r in rs),
                      key=lambda b: b.t_days)
        out.append(EbayAuction(aid, first["item"], int(first["auction_type"].split()[0]), _money(first["open_bid"]),
                               _money(first["final_price"]), tuple(bids)))
    return out
