"""Distances on the Earth and points in commune polygons (pure Python: a commune has a few hundred vertices)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Boundaries", "distance_m", "load_boundaries"]

_EARTH_RADIUS_M = 6_371_008.8

Ring = list[tuple[float, float]]  # (lon, lat), as GeoJSON writes them


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _in_ring(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


class _Area(msgspec.Struct, frozen=True):
    code: str
    # Polygons, each an outer ring followed by its holes.
    polygons: list[list[Ring]]
    box: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat

    def contains(self, lon: float, lat: float) -> bool:
        if not (self.box[0] <= lon <= self.box[2] and self.box[1] <= lat <= self.box[3]):
            return False
        for rings in self.polygons:
            if rings and _in_ring(lon, lat, rings[0]) and not any(_in_ring(lon, lat, hole) for hole in rings[1:]):
                return True
        return False


class Boundaries:
    """Commune polygons from a GeoJSON FeatureCollection (Polygon and MultiPolygon features)."""

    def __init__(self, areas: list[_Area]) -> None:
        self.areas = areas

    def commune_at(self, lat: float, lon: float) -> str | None:
        return next((area.code for area in self.areas if area.contains(lon, lat)), None)


def load_boundaries(path: Path, *, code_property: str) -> Boundaries:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    areas = []
    for feature in document.get("features", []):
        code = (feature.get("properties") or {}).get(code_property)
        geometry = feature.get("geometry") or {}
        kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
        if code is None or kind not in {"Polygon", "MultiPolygon"}:
            continue
        polygons = [coordinates] if kind == "Polygon" else coordinates
        parsed = [[[(float(p[0]), float(p[1])) for p in ring] for ring in polygon] for polygon in polygons]
        points = [p for polygon in parsed for ring in polygon for p in ring]
        if not points:
            continue
        box = (
            min(p[0] for p in points),
            min(p[1] for p in points),
            max(p[0] for p in points),
            max(p[1] for p in points),
        )
        areas.append(_Area(code=str(code), polygons=parsed, box=box))
    return Boundaries(areas)
