"""Pydantic models of the geo JSON API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LocatedJurisdiction(BaseModel):
    id: int
    name: str
    kind: str
    kind_label: str
    geoid: str | None


class Geocoded(BaseModel):
    lon: float
    lat: float
    method: Literal["coordinates", "zcta-polygon", "zip-point"]
    zip: str | None = None
    source: str = Field(description="Where the point came from, with its vintage")


class LocateResult(BaseModel):
    point: Geocoded
    inside_region: bool
    jurisdictions: list[LocatedJurisdiction]
    message: str


class BoundaryRead(BaseModel):
    jurisdiction_id: int
    bbox: tuple[float, float, float, float]
    area_km2: float
    source: str
    repaired: bool = False
    notes: list[str] = []
