"""Tables of the geo domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govshare.core.db import Base, UTCDateTime, utcnow


class Boundary(Base):
    """The boundary of one member jurisdiction, as a GeoJSON MultiPolygon (WGS84 lon/lat).

    Kept as GeoJSON text so SQLite and PostgreSQL hold the same thing without a spatial
    extension; the point index is built in memory from these rows (see ``geo.queries``).
    ``checksum`` is the SHA-256 of ``geojson`` and lets the index notice any change.
    """

    __tablename__ = "boundaries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), unique=True
    )
    geojson: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    area_km2: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AddressPoint(Base):
    """One address (or named place) of the region with its point: what an address search
    matches against. Loaded from an address-point file (OpenAddresses CSV or GeoJSON points)
    by ``geo.service.import_address_points``; a file replaces the points of its ``source``.

    ``key`` is the street address in USPS form ("12525 STONE AVE N", ``geo.calc``),
    ``loose_key`` its number and street name alone ("12525 STONE"), ``name_key`` a
    landmark's name (a school site) for a place without a street address.
    """

    __tablename__ = "address_points"
    __table_args__ = (
        Index("ix_address_points_region_loose", "region_id", "loose_key"),
        Index("ix_address_points_region_name", "region_id", "name_key"),
        Index("ix_address_points_region_source", "region_id", "source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    key: Mapped[str | None] = mapped_column(String(200))
    loose_key: Mapped[str | None] = mapped_column(String(200))
    name_key: Mapped[str | None] = mapped_column(String(200))
    line: Mapped[str] = mapped_column(String(300))  # as shown: "12525 STONE AVE N, SEATTLE"
    name: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(50))
    postcode: Mapped[str | None] = mapped_column(String(10))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300))
    source_row: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
