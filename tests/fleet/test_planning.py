"""The fleet's plans read together: the value page asks for electrification and pooling in
one request, and pooling reuses electrification's facts instead of reading the fleet again."""

from __future__ import annotations

from sqlalchemy.orm import Session

from govshare.core.tenancy import Principal
from govshare.fleet import planning


def _region_id(session: Session) -> int:
    from sqlalchemy import select

    from govshare.regions.models import Region
    return session.scalars(select(Region.id)).one()


def test_pooling_from_electrifications_facts_is_the_same_plan(session: Session,
                                                             system: Principal) -> None:
    region_id = _region_id(session)
    alone = planning.pooling(session=session, actor=system, region_id=region_id)
    elec = planning.electrification(session=session, actor=system, region_id=region_id)
    fleet_facts = [f for _c, f in elec.cases]
    shared = planning.pooling(session=session, actor=system, region_id=region_id,
                              fleet_facts=fleet_facts)
    assert alone.vehicles and alone.trips > 0
    assert shared.plan == alone.plan
    assert (shared.epoch, shared.trips, shared.left_out) == (alone.epoch, alone.trips,
                                                             alone.left_out)
    # every vehicle in the pool has the annual miles right-sizing and electrification use
    miles = {f.vehicle.id: f.use.annual_miles for f in fleet_facts}
    pooled = [pv for cluster in shared.plan.clusters for pv in cluster]
    assert pooled and all(pv.annual_miles == miles[pv.vehicle_id] for pv in pooled)
    # facts that miss some of the fleet are not trusted: the fleet is read again
    partial = planning.pooling(session=session, actor=system, region_id=region_id,
                               fleet_facts=fleet_facts[: len(fleet_facts) // 2])
    assert partial.plan == alone.plan
