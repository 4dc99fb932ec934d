"""Haversine and ETA with known numbers."""

import pytest

from delivery import geo


def test_haversine_known_distances():
    # Berlin Brandenburg Gate -> Munich Marienplatz: ~504 km
    assert geo.haversine_m(52.516275, 13.377704, 48.137154, 11.575382) == pytest.approx(504_400, rel=0.005)
    # one degree of latitude: ~111.2 km on the mean sphere
    assert geo.haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=0.0005)
    assert geo.haversine_m(10, 10, 10, 10) == 0


def test_eta_uses_recent_speed_or_the_fallback():
    assert geo.eta_seconds(1000, [4.0, 6.0], fallback_mps=5.0) == 200
    assert geo.eta_seconds(1000, [0.2, 0.0], fallback_mps=5.0) == 200  # stopped at a light: fallback
    assert geo.eta_seconds(1000, [], fallback_mps=4.0) == 250


def test_bearing_and_interpolation():
    assert geo.bearing_deg(0, 0, 1, 0) == pytest.approx(0)
    assert geo.bearing_deg(0, 0, 0, 1) == pytest.approx(90)
    assert geo.interpolate(0, 0, 2, 4, 0.5) == (1, 2)


def test_coarse_point_is_a_fixed_cell_centre_within_the_cell():
    """The open-delivery drop-off area: every point of a cell maps to one centre (asking again or
    for several addresses in one cell cannot be averaged into the exact point), at most
    ~0.71 × cell from the point, at any latitude."""
    a = geo.coarse_point(52.520008, 13.404954, cell_m=1000)
    assert a == geo.coarse_point(52.5201, 13.4051, cell_m=1000) == geo.coarse_point(52.520008, 13.404954, cell_m=1000)
    for lat, lon in [(52.520008, 13.404954), (-33.8688, 151.2093), (64.1466, -21.9426), (0.0001, -0.0001), (78.22, 15.65)]:
        c = geo.coarse_point(lat, lon, cell_m=1000)
        assert 0 < geo.haversine_m(lat, lon, *c) <= 0.71 * 1000 + 1
    assert geo.coarse_point(52.520008, 13.404954, cell_m=1000) != geo.coarse_point(52.535, 13.404954, cell_m=1000)
