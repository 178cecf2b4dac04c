"""The demo region's carbon: the built-in factor sets, the members' buildings (property's
2016 benchmarking figures, recorded by property's import and here again to name Seattle City
Light as the market factor of City of Seattle buildings), their synthetic fleet (recorded by
fleet's imports in ``demo_fleet``, 2025), **sample** targets for the region and each member
(labeled synthetic), and Seattle's whole 2016 benchmarking file as the community data set."""

from __future__ import annotations

import io
from collections.abc import Callable
from importlib import resources

from sqlalchemy.orm import Session

from govshare.carbon import import_export as carbon_import
from govshare.carbon import service as carbon_service
from govshare.carbon.schemas import TargetIn
from govshare.core.tenancy import Principal
from govshare.property import service as property_service

COMMUNITY_FILE = "seattle_benchmarking_2016.csv"
# Sample targets, not any member's adopted goal: (label, base year, target year, % below).
SAMPLE_TARGETS = (("Sample target: half by 2030", 2016, 2030, 50.0),
                  ("Sample target: net zero by 2050", 2016, 2050, 100.0))


def build(*, session: Session, actor: Principal, members: dict[str, int],
          step: Callable[[str], None]) -> None:
    step("carbon: factor sets")
    carbon_service.install_builtin_sets(session, actor)
    step("carbon: members' buildings")
    property_service.record_carbon(
        session=session, actor=actor, jurisdiction_ids=sorted(members.values()),
        utilities={members["City of Seattle"]: "seattle-city-light"})
    step("carbon: sample targets")
    for label, base, target, pct in SAMPLE_TARGETS:
        carbon_service.add_target(session, actor, TargetIn(
            base_year=base, target_year=target, reduction_pct=pct, label=label,
            synthetic=True))
        for jid in members.values():
            carbon_service.add_target(session, actor, TargetIn(
                jurisdiction_id=jid, base_year=base, target_year=target, reduction_pct=pct,
                label=label, synthetic=True))
    step("carbon: Seattle's 2016 benchmarking file (community data set)")
    raw = resources.files("govshare.carbon").joinpath(f"data/{COMMUNITY_FILE}").read_bytes()
    carbon_import.import_benchmarking(session, actor, io.BytesIO(raw), COMMUNITY_FILE,
                                      jurisdiction_id=members["City of Seattle"])
