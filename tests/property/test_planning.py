"""Consolidation plans from the registry: the MILP's choice, pins, savings and carbon."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.errors import BadRequest, Forbidden
from govshare.core.tenancy import Principal, Role
from govshare.property import planning
from govshare.property.consolidation import haversine_km
from tests.conftest import login
from tests.factories.property import asset
from tests.factories.regions import principal

TRAVEL = 19_136  # cents per person-km-year


def offices(session: Session, ids: dict[str, int]) -> dict[str, object]:
    """Three buildings of a use the demo registry has none of (parks), so only they compete."""
    return {
        "a": asset(session, ids["city"], asset_code="A", name="Office A", lon=-122.3350,
                   lat=47.6050, capacity=100, occupancy=40, annual_om_cost_cents=30_000_000,
                   use="park"),
        "b": asset(session, ids["county"], asset_code="B", name="Office B", lon=-122.3210,
                   lat=47.6050, capacity=100, occupancy=40, annual_om_cost_cents=20_000_000,
                   use="park"),
        "c": asset(session, ids["county"], asset_code="C", name="Office C far", lon=-121.70,
                   lat=47.40, capacity=50, occupancy=30, use="park"),
    }


def test_plan_closes_the_dearer_neighbour_and_keeps_the_far_one(session: Session,
                                                                 ids: dict[str, int]) -> None:
    o = offices(session, ids)
    p = planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                      use="park", max_km=15, travel_cents_per_person_km=TRAVEL)
    assert p.solution.status == "optimal" and p.solution.proven_optimal
    keep = {s.asset.asset_code for s in p.sites if s.keep}
    assert keep == {"B", "C"}
    a_site = next(s for s in p.sites if s.asset.asset_code == "A")
    b_id = o["b"].id  # type: ignore[attr-defined]
    assert [t for t, _share, _km in a_site.served_from] == [b_id]
    km = float(haversine_km(-122.3350, 47.6050, -122.3210, 47.6050))
    travel = round(40 * km * TRAVEL)
    city = next(m for m in p.members if m.jurisdiction == "City of Seattle")
    assert city.closed == 1 and city.fixed_saved_cents == a_site.fixed_cents
    assert city.travel_added_cents == travel
    assert p.savings_cents == pytest.approx(a_site.fixed_cents - travel, abs=2)
    assert p.tco2e_avoided == pytest.approx(a_site.tco2e)


def test_plan_matches_brute_force(session: Session, ids: dict[str, int]) -> None:
    offices(session, ids)
    p = planning.plan(session=session, actor=principal(Role.regional_admin), region_id=1,
                      use="park", max_km=100, travel_cents_per_person_km=TRAVEL)
    sites = p.sites
    best = None
    for r in range(1, len(sites) + 1):
        for kept in itertools.combinations(sites, r):
            if sum(s.capacity for s in kept) < sum(s.occupancy for s in sites):
                continue
            # with ample capacity each need goes to its nearest kept site (greedy check)
            cost = sum(s.fixed_cents for s in kept)
            load = {s.asset.id: 0 for s in kept}
            ok = True
            for need in sorted(sites, key=lambda s: -s.occupancy):
                if not need.occupancy:
                    continue
                choices = sorted(kept, key=lambda k: float(haversine_km(
                    need.asset.lon, need.asset.lat, k.asset.lon, k.asset.lat)))
                for k in choices:
                    if load[k.asset.id] + need.occupancy <= k.capacity:
                        load[k.asset.id] += need.occupancy
                        cost += need.occupancy * TRAVEL * float(haversine_km(
                            need.asset.lon, need.asset.lat, k.asset.lon, k.asset.lat))
                        break
                else:
                    ok = False
            if ok and (best is None or cost < best):
                best = cost
    assert best is not None
    assert p.plan_cents <= best + 2  # the MILP is at least as good as any whole-need plan


def test_pins_and_limits(session: Session, ids: dict[str, int]) -> None:
    o = offices(session, ids)
    actor = principal(Role.regional_admin)
    a_id = o["a"].id  # type: ignore[attr-defined]
    p = planning.plan(session=session, actor=actor, region_id=1, use="park", max_km=15,
                      pins={a_id: True})
    assert next(s for s in p.sites if s.asset.id == a_id).keep
    p = planning.plan(session=session, actor=actor, region_id=1, use="park", max_km=15,
                      max_sites=1)
    assert p.solution.status == "infeasible"  # C is out of reach and A+B need a site
    assert all(s.keep for s in p.sites) and p.savings_cents == 0
    with pytest.raises(BadRequest, match="not candidates"):
        planning.plan(session=session, actor=actor, region_id=1, use="park", pins={999999: True})
    with pytest.raises(BadRequest, match="No vacant land"):
        planning.plan(session=session, actor=actor, region_id=1, use="vacant_land")


def test_only_regional_roles_plan(session: Session, ids: dict[str, int],
                                  system: Principal) -> None:
    offices(session, ids)
    with pytest.raises(Forbidden):
        planning.plan(session=session, actor=principal(Role.jurisdiction_admin, ids["city"]),
                      region_id=1, use="park")


def test_consolidation_page(client: TestClient, session: Session, ids: dict[str, int]) -> None:
    offices(session, ids)
    login(client, "analyst@demo.govshare.org")
    r = client.get("/property/consolidation", params={"use": "park", "max_km": "15"})
    assert r.status_code == 200
    assert "Proven optimal" in r.text and "Office A" in r.text and "Close" in r.text
    assert 'id="plan-data"' in r.text
    bad = client.get("/property/consolidation", params={"use": "park", "max_km": "far"})
    assert bad.status_code == 400 and "must be numbers" in bad.text
    login(client, "seattle.admin@demo.govshare.org")
    assert client.get("/property/consolidation").status_code == 403
