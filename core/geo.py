"""Great-circle distance, shared by the apps that measure how far apart two points are
(``delivery`` for couriers and ETAs, ``commerce.shipping`` for fees by distance).

Haversine distance on a sphere of the mean Earth radius 6,371,008.8 m (IUGG); good to ~0.5 %:
plenty for "the courier is 800 m away" or a fee per started kilometre.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS 84 points given in decimal degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
