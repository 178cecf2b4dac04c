"""The sites domain's one table: a region's center scenarios (what is sited, where it may go,
how candidates are weighed) with the candidate data a user uploaded for them.

County reference data is not in the database: it ships with the package (``data/``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govshare.core.db import Base, UTCDateTime, utcnow


class SiteScenario(Base):
    """A shared-services center to site. ``params`` is the scenario as ``ScenarioIn`` takes
    it (without name and description); ``overrides`` the uploaded candidate data,
    ``{fips: {field: value}}``, replaced whole by each upload (``overrides_file`` names it).
    ``chosen_fips`` is the site the region picked (it feeds the value case). ``sample``
    marks the demo's and the reference scenarios, labelled wherever they appear."""

    __tablename__ = "sites_scenarios"
    __table_args__ = (UniqueConstraint("region_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"),
                                           index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overrides_file: Mapped[str | None] = mapped_column(String(200))
    overrides_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    chosen_fips: Mapped[str | None] = mapped_column(String(5))
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
