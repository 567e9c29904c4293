"""The location plot: the household's GPS point in the middle, its accuracy circle, the photos' EXIF points around it
and a scale bar, as coordinates on a small square SVG (metres on a local flat projection; no map tiles)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .models import LocationView, MapPoint

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["SIZE", "distance_m", "location_view", "nice_length"]

SIZE = 240
_MARGIN = 14
_MIN_EXTENT_M = 25.0
_METRES_PER_DEGREE_LAT = 110_574.0
_METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320.0


def _offset_m(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """East and north of (lat0, lon0), in metres (good to well under 1 % over a few kilometres)."""
    east = (lon - lon0) * _METRES_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat0))
    north = (lat - lat0) * _METRES_PER_DEGREE_LAT
    return east, north


def distance_m(lat0: float, lon0: float, lat: float, lon: float) -> float:
    east, north = _offset_m(lat0, lon0, lat, lon)
    return math.hypot(east, north)


def nice_length(target: float) -> float:
    """The largest 1, 2 or 5 x 10^n not above `target` (a scale bar's length)."""
    if target <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * power <= target:
            return float(step * power)
    return float(power)


def _scale_label(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def location_view(
    latitude: float,
    longitude: float,
    accuracy_m: float | None,
    photo_points: Sequence[tuple[float, float, str]] = (),
) -> LocationView:
    """Everything fits: the plot reaches a little past the accuracy circle and the farthest photo point."""
    offsets = [(*_offset_m(latitude, longitude, lat, lon), label) for lat, lon, label in photo_points]
    farthest = max((math.hypot(east, north) for east, north, _ in offsets), default=0.0)
    extent = max(_MIN_EXTENT_M, (accuracy_m or 0.0) * 1.3, farthest * 1.15)
    centre = SIZE / 2
    per_metre = (centre - _MARGIN) / extent
    points = [
        MapPoint(
            x=round(centre + east * per_metre, 1),
            y=round(centre - north * per_metre, 1),
            label=label,
            distance_m=round(math.hypot(east, north), 1),
        )
        for east, north, label in offsets
    ]
    scale = nice_length(extent / 2)
    return LocationView(
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy_m,
        size=SIZE,
        centre=centre,
        accuracy_radius=round(accuracy_m * per_metre, 1) if accuracy_m else None,
        points=points,
        scale_length=round(scale * per_metre, 1),
        scale_label=_scale_label(scale),
        extent_m=round(extent, 1),
    )
