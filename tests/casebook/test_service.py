"""Proposals, scenarios, a consolidation plan made a proposal, and actual costs, on both
databases: bad input named by field, all-or-nothing imports, idempotence."""

from __future__ import annotations

import io

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.casebook import calc, queries, service
from govshare.casebook.models import CaseActual, CaseStatus, SourceKind
from govshare.casebook.schemas import ActualIn, FromConsolidationIn
from govshare.core.errors import Forbidden, NotFound, ValidationFailed
from govshare.core.tabular import Refused
from govshare.core.tenancy import Role, system_principal
from govshare.property import planning
from tests.factories.casebook import proposal, proposal_in
from tests.factories.property import asset
from tests.factories.regions import principal

SYSTEM = system_principal("test")


def test_results_by_member_and_total(session: Session, ids: dict[str, int]) -> None:
    p = proposal(session, ids)
    r = queries.evaluate(p, queries.members(session=session, proposal_id=p.id))
    by = {m.name: m for m in r.members}
    city, county, schools = (by["City of Seattle"], by["King County"],
                             by["Seattle Public Schools"])
    # $700k by headcount 60/30/10 -> $420k, $210k, $70k; savings 180k, 90k, 30k a year
    assert (city.charge_cents, county.charge_cents, schools.charge_cents) == (
        42_000_000, 21_000_000, 7_000_000)
    assert r.total.annual_savings_cents == 30_000_000
    # year 1: 50% of $300k - $100k = $50k; then $300k a year
    assert [y.net_cents for y in r.total.years] == [5_000_000] + [30_000_000] * 4
    expected = sum(f / 1.07**t for t, f in enumerate([5e6, 3e7, 3e7, 3e7, 3e7], start=1))
    assert abs(r.total.npv_cents - expected) <= 2
    assert r.total.payback_year == 2027 and r.total.irr is None
    assert not r.worse_off


def test_bad_input_names_the_field(session: Session, ids: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as e:
        proposal_in(ids, shared_annual=-5)
    assert e.value.errors()[0]["loc"] == ("shared_annual",)
    with pytest.raises(ValidationError, match="blend: the weights sum to 90%"):
        proposal_in(ids, basis="blend", blend={"population": 50, "usage": 40})
    with pytest.raises(ValidationError, match="ramp_pct: the ramp"):
        proposal_in(ids, horizon_years=2, ramp_pct=[20, 40, 60])
    with pytest.raises(ValidationError) as e:
        proposal_in(ids, discount_rate=0.9)
    assert e.value.errors()[0]["loc"] == ("discount_rate",)
    with pytest.raises(ValidationError) as e:
        proposal_in(ids, members=[{"jurisdiction_id": ids["city"], "staff": -1}])
    assert e.value.errors()[0]["loc"] == ("members", 0, "staff")
    with pytest.raises(ValidationFailed) as f:
        proposal(session, ids, members=[{"jurisdiction_id": 999_999, "staff": 1}])
    assert f.value.errors[0]["loc"] == ["members", 0, "jurisdiction_id"]
    with pytest.raises(ValidationFailed) as f:  # usage basis without usage figures
        proposal(session, ids, basis="usage")
    assert f.value.errors[0]["loc"] == ["usage"]


def test_only_regional_roles_write_proposals(session: Session, ids: dict[str, int]) -> None:
    with pytest.raises(Forbidden):
        service.create_proposal(session=session,
                                actor=principal(Role.jurisdiction_admin, ids["city"]),
                                region_id=1, data=proposal_in(ids))


def test_scenario_sits_beside_its_proposal(session: Session, ids: dict[str, int]) -> None:
    p = proposal(session, ids)
    s = service.add_scenario(session=session, actor=SYSTEM, proposal_id=p.id,
                             name="At 3%", changes={"discount_rate": 0.03})
    family = queries.scenarios(session=session, actor=SYSTEM, proposal=s)
    assert [f.id for f in family] == [p.id, s.id]
    assert s.parent_id == p.id and s.discount_rate == 0.03
    npv = {f.id: queries.evaluate(f, queries.members(session=session, proposal_id=f.id))
           .total.npv_cents for f in family}
    assert npv[s.id] > npv[p.id]  # a lower rate discounts the same savings less


def test_member_staff_see_their_proposals_only(session: Session, ids: dict[str, int]) -> None:
    p = proposal(session, ids)
    port = principal(Role.jurisdiction_staff, ids["port"])
    with pytest.raises(NotFound):
        queries.get_proposal(session=session, actor=port, proposal_id=p.id)
    city = principal(Role.jurisdiction_staff, ids["city"])
    assert queries.get_proposal(session=session, actor=city, proposal_id=p.id).id == p.id
    rows = queries.members(session=session, proposal_id=p.id)
    assert queries.shown_member_ids(city, rows) == {ids["city"]}
    assert queries.shown_member_ids(principal(Role.regional_analyst), rows) == {
        ids["city"], ids["county"], ids["schools"]}


def test_actuals_by_form_scope_and_horizon(session: Session, ids: dict[str, int]) -> None:
    p = proposal(session, ids)
    city = principal(Role.jurisdiction_staff, ids["city"])
    assert service.record_actual(session=session, actor=city, proposal_id=p.id,
                                 data=ActualIn(jurisdiction_id=ids["city"], year=2027,
                                               actual=590_000)) == "added"
    assert service.record_actual(session=session, actor=city, proposal_id=p.id,
                                 data=ActualIn(jurisdiction_id=ids["city"], year=2027,
                                               actual=590_000)) == "unchanged"
    with pytest.raises(Forbidden):  # another member's figures
        service.record_actual(session=session, actor=city, proposal_id=p.id,
                              data=ActualIn(jurisdiction_id=ids["county"], year=2027,
                                            actual=1))
    with pytest.raises(ValidationFailed) as e:
        service.record_actual(session=session, actor=SYSTEM, proposal_id=p.id,
                              data=ActualIn(jurisdiction_id=ids["city"], year=2040, actual=1))
    assert e.value.errors[0]["loc"] == ["year"]
    r = queries.evaluate(p, queries.members(session=session, proposal_id=p.id))
    t = queries.tracker(r, queries.actuals(session=session, proposal_id=p.id), {ids["city"]})
    first = t.total[0]
    # city: baseline $600k - actual $590k = $10k realized; projected 50% x $180k - $60k = $30k
    assert first.realized_cents == 1_000_000 and first.against_cents == 3_000_000
    assert first.gap_cents == -2_000_000 and first.reporting == 1


CSV_OK = ("member,year,actual,billed,usage\r\n"
          "City of Seattle,2027,\"$590,000\",420000,55\r\n"
          "King County,2027,295000,210000,35\r\n"
          "{schools},2027,99000,70000,10\r\n")


def test_actuals_import_is_all_or_nothing_and_idempotent(session: Session,
                                                         ids: dict[str, int]) -> None:
    p = proposal(session, ids)
    body = CSV_OK.format(schools=ids["schools"]).encode()
    res = service.import_actuals(session=session, actor=SYSTEM, proposal_id=p.id,
                                 stream=io.BytesIO(body), file_name="actuals.csv")
    assert (res.rows, res.added) == (3, 3)
    again = service.import_actuals(session=session, actor=SYSTEM, proposal_id=p.id,
                                   stream=io.BytesIO(body), file_name="actuals.csv")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    bad = ("member,year,actual\r\nCity of Seattle,2028,100\r\nPort of Seattle,2028,5\r\n"
           "King County,2099,5\r\nKing County,2028,-3\r\nCity of Seattle,2028,7\r\n")
    with pytest.raises(Refused) as e:
        service.import_actuals(session=session, actor=SYSTEM, proposal_id=p.id,
                               stream=io.BytesIO(bad.encode()), file_name="bad.csv")
    problems = [(x.row, x.column, x.reason) for x in e.value.report]
    assert (3, "member", "not a member of this proposal") in problems
    assert any(r == 4 and c == "year" and "horizon" in why for r, c, why in problems)
    assert any(r == 5 and c == "actual" for r, c, _ in problems)
    assert any(r == 6 and c == "year" and "also on row 2" in why for r, c, why in problems)
    rows = session.scalars(select(CaseActual).where(CaseActual.proposal_id == p.id,
                                                    CaseActual.year == 2028)).all()
    assert rows == []  # nothing of the refused file was written
    # A member's staff may import only their own member's rows.
    staff = principal(Role.jurisdiction_staff, ids["county"])
    with pytest.raises(Refused) as e:
        service.import_actuals(session=session, actor=staff, proposal_id=p.id,
                               stream=io.BytesIO(body), file_name="actuals.csv")
    assert {x.row for x in e.value.report} == {2, 4}


def _two_park_offices(session: Session, ids: dict[str, int]) -> None:
    asset(session, ids["city"], asset_code="PA", name="Park office A", lon=-122.3350,
          lat=47.6050, capacity=100, occupancy=40, annual_om_cost_cents=30_000_000, use="park")
    asset(session, ids["county"], asset_code="PB", name="Park office B", lon=-122.3210,
          lat=47.6050, capacity=100, occupancy=40, annual_om_cost_cents=20_000_000, use="park")


def test_consolidation_plan_becomes_a_proposal(session: Session, ids: dict[str, int]) -> None:
    _two_park_offices(session, ids)
    data = FromConsolidationIn(use="park", max_km=15, start_year=2027, horizon_years=10,
                               one_time=50_000, move_cost=2_000, fitout_cost=4_000,
                               charge_pct=80)
    plan = planning.plan(session=session, actor=SYSTEM, region_id=1, use="park", max_km=15,
                         travel_cents_per_person_km=19_136, move_cents_per_person=200_000,
                         fitout_cents_per_person=400_000, charge_pct=80)
    p = service.from_consolidation(session=session, actor=SYSTEM, region_id=1, data=data)
    assert p.source_kind == SourceKind.consolidation.value
    assert p.source_link.startswith("/property/consolidation?use=park&max_km=15")
    assert "move_cost=2000" in p.source_link and "charge_pct=80" in p.source_link
    assert p.tco2e_per_year == pytest.approx(plan.tco2e_avoided, abs=1e-3)
    r = queries.evaluate(p, queries.members(session=session, proposal_id=p.id))
    # The proposal's savings are the plan's: baseline - (kept buildings + added travel).
    assert r.total.annual_savings_cents == plan.savings_cents
    assert sum(m.charge_cents for m in r.members) == p.shared_annual_cents
    # Each member's savings are its net after the plan's occupancy charges, to the cent, and
    # its one-time cost is its own moving and fit-out plus its share of the other costs.
    by = {m.name: m for m in r.members}
    assert plan.members and any(m.charges_paid_cents for m in plan.members)
    for pm in plan.members:
        assert by[pm.jurisdiction].annual_savings_cents == pm.net_after_charges_cents
    guest = next(m for m in plan.members if m.closed)
    assert guest.one_time_cents == round(40 * (200_000 + 400_000))
    own = {pm.jurisdiction: pm.one_time_cents for pm in plan.members}
    shared = calc.allocate(5_000_000, {m.key: m.share for m in r.members})
    for m in r.members:
        assert m.one_time_cents[0] == own[m.name] + shared[m.key]
    assert r.total.total_one_time_cents == plan.one_time_cents + 5_000_000
    assert service.set_status(session=session, actor=SYSTEM, proposal_id=p.id,
                              status=CaseStatus.adopted).adopted_at is not None


def test_a_charge_above_cost_recovery_shares_on_occupants(session: Session,
                                                           ids: dict[str, int]) -> None:
    """At 300% the host receives more than its building costs: no allocation base holds a
    negative occupancy cost, so the kept buildings' cost is shared on occupants, and the
    proposal says so."""
    _two_park_offices(session, ids)
    data = FromConsolidationIn(use="park", max_km=15, start_year=2027, charge_pct=300)
    p = service.from_consolidation(session=session, actor=SYSTEM, region_id=1, data=data)
    assert "shared on occupants housed" in (p.description or "")
    rows = queries.members(session=session, proposal_id=p.id)
    assert sorted(r.member.usage for r in rows) == [40, 40]
    r = queries.evaluate(p, rows)
    plan = planning.plan(session=session, actor=SYSTEM, region_id=1, use="park", max_km=15,
                         travel_cents_per_person_km=19_136, charge_pct=300)
    assert r.total.annual_savings_cents == plan.savings_cents


def test_a_bad_plan_value_is_refused_by_name(session: Session, ids: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as e:
        FromConsolidationIn(use="park", start_year=2027, charge_pct=400)
    assert e.value.errors()[0]["loc"] == ("charge_pct",)


def test_a_chosen_center_becomes_a_proposal(session: Session, ids: dict[str, int]) -> None:
    from govshare.cli.demo_sites import DEMO_SCENARIO
    from govshare.core.errors import BadRequest
    from govshare.sites import queries as sites_queries
    from govshare.sites import service as sites_service

    row = sites_queries.find_scenario(session=session, region_id=1, name=DEMO_SCENARIO["name"])
    with pytest.raises(BadRequest, match="Choose a county"):
        service.from_sited_center(session=session, actor=SYSTEM, region_id=1,
                                  scenario_id=row.id, start_year=2027)
    rows = sites_queries.candidate_rows(sites_queries.evaluate_row(row))
    best = next(r for r in rows if not r["is_baseline"])
    sites_service.choose_site(session=session, actor=SYSTEM, region_id=1, scenario_id=row.id,
                              fips=best["fips"])
    p = service.from_sited_center(session=session, actor=SYSTEM, region_id=1,
                                  scenario_id=row.id, start_year=2027)
    assert p.source_kind == SourceKind.sited_center.value
    assert p.source_link == f"/sites/scenarios/{row.id}"
    r = queries.evaluate(p, queries.members(session=session, proposal_id=p.id))
    # the members' savings add up to the scenario's, to the cent (population shares)
    assert r.total.annual_savings_cents == round(best["savings_usd"] * 100)
    assert sum(m.charge_cents for m in r.members) == p.shared_annual_cents


def test_fleet_pool_becomes_a_proposal_with_the_plans_figures(session: Session,
                                                              ids: dict[str, int]) -> None:
    from govshare.fleet import planning as fleet_planning

    pool = fleet_planning.pooling(session=session, actor=SYSTEM, region_id=1)
    assert pool.plan.removable > 0  # the demo's synthetic fleets overlap in time and place
    p = service.from_fleet_pool(session=session, actor=SYSTEM, region_id=1, start_year=2027)
    assert p.source_kind == SourceKind.fleet_pool.value and p.source_link == "/fleet/pooling"
    assert p.service == "fleet_pool" and p.basis == "usage" and p.tco2e_per_year is None
    rows = queries.members(session=session, proposal_id=p.id)
    r = queries.evaluate(p, rows)
    # the proposal's savings a year are the plan's, to the cent, and split among members
    assert r.total.annual_savings_cents == pool.plan.savings_cents
    assert sum(m.charge_cents for m in r.members) == p.shared_annual_cents
    pooled = {v.jurisdiction_id for c in pool.plan.clusters for v in c}
    assert {m.member.jurisdiction_id for m in rows} == pooled
    for m in rows:  # a member's baseline is its pooled vehicles' annual cost
        own = sum(v.ownership_cents + v.fixed_maintenance_cents
                  for c in pool.plan.clusters for v in c
                  if v.jurisdiction_id == m.member.jurisdiction_id)
        assert m.member.other_cents == own
    assert f"{pool.plan.removable} vehicles shared or removed" in (p.source_note or "")
    # only regional roles make proposals
    with pytest.raises(Forbidden):
        service.from_fleet_pool(session=session,
                                actor=principal(Role.jurisdiction_admin, ids["city"]),
                                region_id=1, start_year=2027)


def test_default_rate_is_the_appendix_c_in_force_for_the_horizon(
        session: Session, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    from govshare.casebook import calc

    # the shipped table has no edition in force today: §8.b's 7%, said so
    p = proposal(session, ids, discount_rate=None, discount_source=None)
    assert p.discount_rate == calc.DEFAULT_RATE
    assert p.discount_source == calc.DEFAULT_RATE_SOURCE
    year = date.today().year
    current = calc.appendix_c([
        {"edition": f"Test {year}", "valid_from": f"{year}-01-01",
         "valid_through": f"{year}-12-31", "maturity_years": str(m), "real_pct": str(r),
         "nominal_pct": "4", "source": "a test edition"} for m, r in ((3, 1.2), (7, 2.0))])
    monkeypatch.setattr(service, "appendix_c", lambda: tuple(current))
    q = proposal(session, ids, discount_rate=None, discount_source=None)  # 5 years
    assert q.discount_rate == pytest.approx(0.016)  # halfway between 1.2% and 2.0%
    assert q.discount_source.startswith(f"OMB Circular A-94 Appendix C (Test {year})")
    assert "interpolated between the 3- and 7-year" in q.discount_source
    # entered rates keep their own source; the default's source only for the default's rate
    r = proposal(session, ids, discount_rate=0.016, discount_source=None)
    assert r.discount_source == q.discount_source
    s = proposal(session, ids, discount_rate=0.03, discount_source=None)
    assert s.discount_source == "entered by staff (no source given)"
