"""Tables of the geo domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
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
