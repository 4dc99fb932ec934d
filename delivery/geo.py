"""Geodesy and ETA, pure functions.

Distances: ``core.geo.haversine_m`` (great-circle, mean Earth radius), re-exported here. Speeds
in m/s, headings in degrees clockwise from north, times as aware UTC datetimes or seconds.
"""

from __future__ import annotations

import math

from core.geo import EARTH_RADIUS_M, haversine_m  # noqa: F401  (the project's one haversine; callers use geo.haversine_m)


def eta_seconds(distance_m: float, recent_speeds_mps: list[float], *, fallback_mps: float, min_mps: float = 1.0) -> int:
    """Seconds to cover ``distance_m``: at the mean of the recent reported speeds when it is at
    least ``min_mps`` (a courier stopped at a light should not make the ETA infinite), else at
    ``fallback_mps`` (``DELIVERY_FALLBACK_SPEED_MPS``, default 5 m/s = 18 km/h, an urban bike or
    scooter courier)."""
    speeds = [s for s in recent_speeds_mps if s is not None and s >= 0]
    speed = sum(speeds) / len(speeds) if speeds else 0.0
    if speed < min_mps:
        speed = fallback_mps
    return int(round(distance_m / speed))


def interpolate(lat1: float, lon1: float, lat2: float, lon2: float, fraction: float) -> tuple[float, float]:
    """The point ``fraction`` (0..1) of the way along a straight line in degrees (short routes)."""
    return lat1 + (lat2 - lat1) * fraction, lon1 + (lon2 - lon1) * fraction


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north (0..360)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


METRES_PER_DEGREE_LAT = EARTH_RADIUS_M * math.pi / 180  # ~111,195 m


def coarse_point(lat: float, lon: float, *, cell_m: float) -> tuple[float, float]:
    """The centre of the ~``cell_m`` × ``cell_m`` grid cell holding (``lat``, ``lon``): rows of
    ``cell_m`` metres of latitude, each split into columns ``cell_m`` metres wide at the row's
    centre latitude. Every point of a cell maps to the same centre, so asking again (or for
    many deliveries to one address) reveals nothing finer; the centre is at most ~0.71 ×
    ``cell_m`` from the point. Degrees rounded to 5 places."""
    dlat = cell_m / METRES_PER_DEGREE_LAT
    row = math.floor((lat + 90.0) / dlat)
    centre_lat = min(90.0, -90.0 + (row + 0.5) * dlat)
    dlon = cell_m / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(centre_lat)), 0.01))
    col = math.floor((lon + 180.0) / dlon)
    centre_lon = -180.0 + (col + 0.5) * dlon
    if centre_lon > 180.0:
        centre_lon -= 360.0
    return round(centre_lat, 5), round(centre_lon, 5)
