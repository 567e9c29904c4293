"""The evidence settings decoded once: the time zone, the province box, the risk weights, the commune polygons."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .geo import load_boundaries

if TYPE_CHECKING:
    from service.settings import Settings

    from .geo import Boundaries

__all__ = ["EvidenceConfig", "parse_bbox", "parse_weights", "validate_evidence_settings"]

SEVERITIES = ("info", "warn", "risk")


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """ "min_lat,min_lon,max_lat,max_lon" → a tuple; ValueError naming the setting otherwise."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not (values[0] < values[2] and values[1] < values[3]):
        raise ValueError(f"EVIDENCE_PROVINCE_BBOX must be min_lat,min_lon,max_lat,max_lon, not {text!r}")
    return values[0], values[1], values[2], values[3]


def parse_weights(text: str) -> dict[str, int]:
    weights: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        code, _, value = entry.partition("=")
        try:
            weights[code.strip()] = int(value)
        except ValueError:
            raise ValueError(f"RISK_WEIGHTS entries are code=integer, not {entry!r}") from None
    return weights


def validate_evidence_settings(settings: Settings) -> None:
    try:
        ZoneInfo(settings.evidence_time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"EVIDENCE_TIME_ZONE {settings.evidence_time_zone!r} is not a known time zone") from None
    parse_bbox(settings.evidence_province_bbox)
    parse_weights(settings.risk_weights)
    if not 0 <= settings.evidence_phash_max_distance <= 16:
        raise ValueError("EVIDENCE_PHASH_MAX_DISTANCE must be 0 to 16")


class EvidenceConfig:
    """Built once per worker from its settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.evidence_time_zone)
        self.bbox = parse_bbox(settings.evidence_province_bbox)
        self.code_weights = parse_weights(settings.risk_weights)
        self.severity_weights = {
            "info": settings.risk_weight_info,
            "warn": settings.risk_weight_warn,
            "risk": settings.risk_weight_risk,
        }

    @cached_property
    def boundaries(self) -> Boundaries | None:
        path = self.settings.evidence_commune_boundaries
        if not path:
            return None
        return load_boundaries(Path(path), code_property=self.settings.evidence_commune_code_property)

    def weight(self, code: str, severity: str) -> int:
        return self.code_weights.get(code, self.severity_weights[severity])
