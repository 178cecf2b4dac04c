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
    method: Literal["coordinates", "zcta-polygon", "zip-point", "address-point",
                    "place-name", "census-geocoder"]
    zip: str | None = None
    source: str = Field(description="Where the point came from, with its vintage")
    matched: str | None = Field(None, description="The address point matched, as its file "
                                "writes it (address search only)")
    exact: bool = Field(True, description="True when the point is the place itself "
                        "(coordinates, a matched address); False for a ZIP code's point, "
                        "which stands for an area")


class AddressCandidate(BaseModel):
    """One address point an address search could mean, when it cannot tell which."""

    line: str
    lon: float
    lat: float
    source: str


class LocateResult(BaseModel):
    point: Geocoded
    inside_region: bool
    jurisdictions: list[LocatedJurisdiction]
    message: str
    exact: bool = Field(True, description="False when the place is a ZIP code's area, not a "
                        "point: requests there are not routed without a pin on the map")
    zip_members: list[LocatedJurisdiction] = Field(
        default_factory=list, description="For a ZIP code: every member whose area the ZIP "
        "code's area touches, even partly")
    zip_split: bool = Field(False, description="For a ZIP code: True when its area crosses a "
                            "member's limit, so the ZIP alone cannot say who serves a place")


class AddressSearch(BaseModel):
    """The answer to an address search: the place found (``result``), or why none was."""

    query: str
    normalized: str | None = Field(None, description="The address in USPS form, as matched")
    found: bool
    result: LocateResult | None = None
    candidates: list[AddressCandidate] = Field(default_factory=list)
    message: str


class BoundaryRead(BaseModel):
    jurisdiction_id: int
    bbox: tuple[float, float, float, float]
    area_km2: float
    source: str
    repaired: bool = False
    notes: list[str] = []
