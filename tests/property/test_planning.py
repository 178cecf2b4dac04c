"""Consolidation plans from the registry: the MILP's choice, pins, savings and carbon."""

from __future__ import annotations

import dataclasses
import html
import itertools
import re
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.errors import BadRequest, Forbidden
from govshare.core.formats import money as dollars
from govshare.core.geodesy import haversine_km
from govshare.core.tenancy import Principal, Role
from govshare.property import consolidation, planning, solver
from govshare.property.consolidation import Solution
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


def test_plan_closes_the_dearer_neighbor_and_keeps_the_far_one(session: Session,
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
    assert bad.status_code == 400 and "Farthest move (km): Input should be a valid number" \
        in bad.text
    login(client, "seattle.admin@demo.govshare.org")
    assert client.get("/property/consolidation").status_code == 403


def test_page_says_when_proof_is_quick_and_when_it_can_hit_the_limit(
        client: TestClient) -> None:
    login(client, "analyst@demo.govshare.org")
    text = _page_text(client.get("/property/consolidation").text)
    assert "When travel is a good part of the cost, the solver proves the best plan quickly" \
        in text
    assert "buildings' own costs dominate" in text and "time limit" in text


def _page_text(page: str) -> str:
    """The page's words: tags dropped, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def _time_limited(*args: Any, **kwargs: Any) -> Solution:
    """The real solve, reported as HiGHS reports a time limit with an incumbent and a 5% gap."""
    sol = consolidation.solve(*args, **kwargs)
    assert sol.objective is not None
    return dataclasses.replace(sol, status="time_limit", proven_optimal=False, gap=0.05,
                               dual_bound=sol.objective * 0.95, message="Time limit reached")


def _no_solution(*args: Any, **kwargs: Any) -> Solution:
    """A time limit before HiGHS found any feasible plan."""
    return Solution(status="time_limit", proven_optimal=False, objective=None,
                    fixed_cost_total=None, assignment_cost_total=None, gap=None,
                    dual_bound=None, open_site_ids=[], closed_site_ids=[], assignment={},
                    build_seconds=0.0, solve_seconds=60.0, n_variables=12, n_constraints=15,
                    message="no feasible solution found within 60 s")


def test_time_limit_plan_is_the_plan_shown_with_its_gap(
        client: TestClient, session: Session, ids: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    offices(session, ids)
    proven = planning.plan(session=session, actor=principal(Role.regional_analyst),
                           region_id=1, use="park", max_km=15)
    monkeypatch.setattr(planning, "solve", _time_limited)
    p = planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                      use="park", max_km=15)
    assert p.solution.status == "time_limit" and p.has_plan and not p.proven
    # the incumbent is the plan: its buildings, its moves and its cost (not "keep everything")
    assert {s.asset.asset_code for s in p.sites if s.keep} == {"B", "C"}
    assert p.plan_cents == round(p.solution.objective or 0) == proven.plan_cents
    assert p.savings_cents == proven.savings_cents > 0
    assert sum(m.closed for m in p.members) == 1
    assert p.bound_cents == round((p.solution.objective or 0) * 0.95)

    login(client, "analyst@demo.govshare.org")
    r = client.get("/property/consolidation", params={"use": "park", "max_km": "15"})
    assert r.status_code == 200
    text = _page_text(r.text)
    assert "Proven optimal" not in text
    assert (f"Best plan found (not proven optimal): keep 2 of 3, saving "
            f"{dollars(p.savings_cents)} a year") in text
    assert ("This is the best plan found, not proven optimal: the solver reached its time "
            "limit of 1 minute before proving that no cheaper plan exists.") in text
    assert "Gap 5.00%" in text
    assert (f"no plan can cost less than {dollars(p.bound_cents)} a year, so the best plan "
            f"saves at most {dollars(p.plan_cents - (p.bound_cents or 0))} a year more") in text
    assert f"with the plan {dollars(p.plan_cents)}" in text
    assert f"Annual cost today {dollars(p.baseline_cents)}" in text
    assert 'data-label="Plan">Close' in r.text


def test_a_region_of_parts_stopped_at_its_limit_says_where_the_gap_lies(
        client: TestClient, session: Session, ids: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Solved part by part and stopped with some parts unproven, the page's warning names
    how many parts are proven and the size of the largest one that is not."""
    offices(session, ids)

    def stopped_in_parts(*args: Any, **kwargs: Any) -> Solution:
        sol = _time_limited(*args, **kwargs)
        return dataclasses.replace(sol, method="parts:milp+tree", extra={
            "parts": 5.0, "parts_proven": 3.0, "largest_unproven_part_sites": 117.0,
            "largest_unproven_part_needs": 591.0})

    monkeypatch.setattr(planning, "solve", stopped_in_parts)
    login(client, "analyst@demo.govshare.org")
    r = client.get("/property/consolidation", params={"use": "park", "max_km": "15"})
    assert r.status_code == 200
    text = _page_text(r.text)
    assert "Gap 5.00%" in text
    assert ("The region falls into 5 independent parts (groups of buildings no one may move "
            "between): 3 are proven optimal, and the gap is in the other 2 (the largest: 117 "
            "buildings and 591 groups of occupants).") in text
    assert 'id="plan-parts"' in r.text


def test_no_solution_keeps_everything_at_the_baseline_and_says_why(
        client: TestClient, session: Session, ids: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    offices(session, ids)
    monkeypatch.setattr(planning, "solve", _no_solution)
    p = planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                      use="park", max_km=15)
    assert not p.has_plan and not p.proven
    assert all(s.keep for s in p.sites) and all(not s.served_from for s in p.sites)
    assert p.plan_cents == p.baseline_cents == sum(s.fixed_cents for s in p.sites)
    assert p.savings_cents == 0 and p.tco2e_avoided == 0
    assert all(m.closed == 0 and m.net_cents == 0 for m in p.members)

    login(client, "analyst@demo.govshare.org")
    r = client.get("/property/consolidation", params={"use": "park", "max_km": "15"})
    assert r.status_code == 200
    text = _page_text(r.text)
    assert "No plan: the solver reached its time limit of 1 minute" in text
    assert "The solver returned no plan (no feasible solution found within 60 s)" in text
    assert f"the annual cost stays at today's {dollars(p.baseline_cents)}" in text
    assert "Proven optimal" not in text and "saving" not in text
    assert 'data-label="Plan">Close' not in r.text  # every building: Keep


def test_infeasible_page_says_why(client: TestClient, session: Session,
                                  ids: dict[str, int]) -> None:
    offices(session, ids)
    login(client, "analyst@demo.govshare.org")
    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", "max_sites": "1"})
    assert r.status_code == 200
    text = _page_text(r.text)
    assert "No plan: no choice of buildings fits everyone" in text
    assert "Proven optimal" not in text


def test_plan_reports_progress_and_can_be_canceled(session: Session,
                                                    ids: dict[str, int]) -> None:
    offices(session, ids)
    seen: list[solver.Progress] = []
    p = planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                      use="park", max_km=15, on_progress=seen.append)
    assert p.proven and seen and seen[-1].phase == "done"
    assert seen[-1].best == p.solution.objective and seen[-1].gap == 0.0
    assert p.method_label
    stop = threading.Event()
    stop.set()
    canceled = planning.plan(session=session, actor=principal(Role.regional_analyst),
                              region_id=1, use="park", max_km=15, cancel=stop)
    assert canceled.solution.status == "canceled" and not canceled.proven
    assert canceled.why_not_proven == ("the solve was canceled before it could prove the "
                                        "plan optimal")


def test_a_plan_solved_in_independent_parts_says_so(session: Session,
                                                     ids: dict[str, int]) -> None:
    """The solver splits a region whose groups cannot move between towns; the page's method
    line names the parts and how each was solved, in words."""
    offices(session, ids)
    p = planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                      use="park", max_km=15)
    parted = dataclasses.replace(p, solution=dataclasses.replace(
        p.solution, method="parts:milp+tree", extra={**p.solution.extra, "parts": 3.0}))
    assert parted.method_label == (
        "3 independent parts (groups of buildings no one may move between), each solved on "
        "its own: one MILP, Lagrangian branch-and-bound (HiGHS)")
    assert parted.parts_note == ""  # proven: nothing to place
    # not proven: where the gap lies
    open_parts = {"parts": 3.0, "parts_proven": 1.0, "largest_unproven_part_sites": 117.0,
                  "largest_unproven_part_needs": 591.0}
    gap = dataclasses.replace(p, solution=dataclasses.replace(
        p.solution, method="parts:milp", status="time_limit", proven_optimal=False,
        extra=open_parts))
    assert gap.parts_note == (
        "The region falls into 3 independent parts (groups of buildings no one may move "
        "between): 1 is proven optimal, and the gap is in the other 2 (the largest: 117 "
        "buildings and 591 groups of occupants).")
    one = dataclasses.replace(gap, solution=dataclasses.replace(
        gap.solution, extra={**open_parts, "parts_proven": 2.0}))
    assert one.parts_note.endswith("2 are proven optimal, and the gap is in the other one "
                                   "(117 buildings and 591 groups of occupants).")
    none = dataclasses.replace(gap, solution=dataclasses.replace(
        gap.solution, extra={**open_parts, "parts_proven": 0.0}))
    assert none.parts_note.startswith("The region falls into 3 independent parts")
    assert ": none of them is proven optimal (the largest: 117 buildings" in none.parts_note
    whole = dataclasses.replace(gap, solution=dataclasses.replace(gap.solution, extra={}))
    assert whole.parts_note == ""  # solved whole: no parts to speak of
    quick = dataclasses.replace(p, solution=dataclasses.replace(
        p.solution, method="parts:milp+quick", extra={**p.solution.extra, "parts": 40.0}))
    assert quick.method_label.endswith(
        "one MILP, a quick plan and bound, not proven (too little time left for a full "
        "solve) (HiGHS)")
    tree = dataclasses.replace(p, solution=dataclasses.replace(p.solution, method="tree"))
    assert tree.method_label.startswith("Lagrangian branch-and-bound")
    # kept together: the split problem first, then the single-source MILP or the moves
    for method, words in (("split+milp", "a MILP (HiGHS) keeping each building's occupants "
                                         "together, started from the plan that lets them "
                                         "split"),
                          ("split", "the plan that lets each building's occupants split "
                                    "between buildings, then kept together by the cheapest "
                                    "moves")):
        one = dataclasses.replace(p, solution=dataclasses.replace(p.solution, method=method))
        assert one.method_label.startswith(words)
    towns = dataclasses.replace(p, solution=dataclasses.replace(
        p.solution, method="parts:split+milp", extra={**p.solution.extra, "parts": 2.0}))
    assert towns.method_label.endswith(
        "each solved on its own: the plan that lets occupants split, then a MILP keeping "
        "them together (HiGHS)")
    mixed = dataclasses.replace(p, solution=dataclasses.replace(
        p.solution, method="parts:lagrangian+milp+tree", extra={**p.solution.extra,
                                                                "parts": 2.0}))
    assert mixed.method_label.endswith(  # a name holding "+" is one method
        "each solved on its own: Lagrangian bounds, then a MILP, Lagrangian "
        "branch-and-bound (HiGHS)")


def _recording(limits: list[float]) -> Any:
    """`_time_limited`, recording the time limit each solve was given."""
    def solve(*args: Any, **kwargs: Any) -> Solution:
        limits.append(kwargs["time_limit"])
        return _time_limited(*args, **kwargs)
    return solve


def test_a_plan_stopped_at_its_limit_offers_a_longer_solve(
        client: TestClient, session: Session, ids: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopped at the time limit, the warning links to the same plan with the next longer
    time the form offers (1, 5, 15, 60 minutes), and the solver gets that many minutes;
    at the longest there is no link."""
    offices(session, ids)
    limits: list[float] = []
    monkeypatch.setattr(planning, "solve", _recording(limits))
    login(client, "analyst@demo.govshare.org")
    r = client.get("/property/consolidation", params={"use": "park", "max_km": "15"})
    assert r.status_code == 200 and limits == [60.0]
    text = _page_text(r.text)
    assert "the solver reached its time limit of 1 minute before proving" in text
    assert "Solve again with up to 5 minutes to prove it or narrow the gap." in text
    page = html.unescape(r.text)
    href = re.search(r'<a href="([^"]+)" id="solve-longer">', page)
    assert href is not None and "minutes=5" in href.group(1)
    assert "use=park" in href.group(1) and "max_km=15" in href.group(1)
    assert '<option value="1" selected>1 minute</option>' in r.text

    r = client.get(href.group(1))
    assert r.status_code == 200 and limits == [60.0, 300.0]
    text = _page_text(r.text)
    assert "the solver reached its time limit of 5 minutes before proving" in text
    assert "Solve again with up to 15 minutes" in text
    assert '<option value="5" selected>5 minutes</option>' in r.text
    # the pin form finds the plan again with the same time
    assert '<input type="hidden" name="minutes" value="5">' in r.text

    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", "minutes": "60"})
    assert r.status_code == 200 and limits[-1] == 3600.0
    assert "time limit of 60 minutes" in _page_text(r.text)
    assert 'id="solve-longer"' not in r.text


def test_a_proven_plan_offers_no_longer_solve(client: TestClient, session: Session,
                                              ids: dict[str, int]) -> None:
    offices(session, ids)
    login(client, "analyst@demo.govshare.org")
    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", "minutes": "15"})
    assert r.status_code == 200 and "Proven optimal" in r.text
    assert 'id="solve-longer"' not in r.text
    assert '<option value="15" selected>15 minutes</option>' in r.text


@pytest.mark.parametrize("minutes", ["0", "61", "2.5", "abc", "-1"])
def test_solver_minutes_out_of_range_are_refused_by_name(
        client: TestClient, session: Session, ids: dict[str, int], minutes: str) -> None:
    offices(session, ids)
    login(client, "analyst@demo.govshare.org")
    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", "minutes": minutes})
    assert r.status_code == 400
    assert "Time for the solver (minutes):" in _page_text(r.text)
    # the form shows what was typed, so it can be corrected
    assert f'<option value="{html.escape(minutes)}" selected>' in r.text


def test_duration_words() -> None:
    assert [planning.duration(s) for s in (0.5, 30, 60, 90, 120, 300, 3600)] == [
        "0.5 seconds", "30 seconds", "1 minute", "90 seconds", "2 minutes", "5 minutes",
        "60 minutes"]
