"""Factory for property assets."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from govshare.core.tenancy import system_principal
from govshare.property import service
from govshare.property.models import Asset
from govshare.property.schemas import AssetIn


def asset(session: Session, jurisdiction_id: int, **kw: Any) -> Asset:
    values: dict[str, Any] = dict(
        asset_code=f"T-{jurisdiction_id}-{kw.get('name', 'x')}"[:64], name="Test building",
        use="office", gross_floor_area_ft2=20_000, year_built=1970, zip="98104",
        lon=-122.33, lat=47.60, capacity=100, occupancy=80,
        annual_om_cost_cents=15_000_000, repair_needs_cents=50_000_000,
        replacement_value_cents=800_000_000, electricity_kwh=300_000,
        natural_gas_therms=8_000, energy_year=2016)
    values.update(kw)
    a = service.create_asset(session=session, actor=system_principal("test"),
                             jurisdiction_id=jurisdiction_id, data=AssetIn(**values))
    session.flush()
    return a
