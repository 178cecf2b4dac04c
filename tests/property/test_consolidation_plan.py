"""A consolidation plan a mayor can act on (issue 9 §7): what it leaves out and why, one-time
costs and payback, occupancy charges and each member's net after them, the worse-off flag,
keep/close on the page, and long solves in the background with progress and cancel."""

from __future__ import annotations

import io
import math
import re
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.formats import money as dollars
from govshare.core.tenancy import Role
from govshare.property import consolidation, pages, planning, solver
from govshare.property.import_export import importer
from govshare.property.models import Asset
from govshare.property.planning import MemberSavings, payback_year
from tests.conftest import csrf_from, login
from tests.factories.regions import api_key, principal
from tests.property.test_planning import TRAVEL, _page_text, offices

ANALYST = "analyst@demo.govshare.org"


# ------------------------------------------------------------------------- the figures


@pytest.mark.parametrize(("one_time", "net", "year"), [
    (0, 0, 0),            # nothing to repay, nothing lost
    (0, 500, 0),
    (1_000, 1_000, 1),    # repaid by the end of the first year
    (1_001, 1_000, 2),
    (10_000, 3_000, 4),   # 3,000 x 3 = 9,000 < 10,000 <= 12,000
    (1_000, 0, None),     # a cost and no saving: never
    (0, -1, None),        # loses every year: never
    (5_000, -100, None),
])
def test_payback_year(one_time: int, net: int, year: int | None) -> None:
    assert payback_year(one_time, net) == year


def test_net_after_charges_and_worse_off_flag() -> None:
    guest = MemberSavings("Guest", closed=1, fixed_saved_cents=100_000, travel_added_cents=10_000,
                          tco2e_avoided=0.0, people_moved=10, move_cents=15_000,
                          fitout_cents=50_000, charges_paid_cents=30_000)
    assert guest.net_cents == 90_000
    assert guest.net_after_charges_cents == 60_000
    assert guest.one_time_cents == 65_000
    assert guest.payback_year == 2 and not guest.worse_off
    host = MemberSavings("Host", 0, 0, 0, 0.0, charges_received_cents=30_000)
    assert host.net_after_charges_cents == 30_000 and host.payback_year == 0
    assert not host.worse_off
    dear = MemberSavings("Dear", 1, 100_000, 10_000, 0.0, charges_paid_cents=95_000)
    assert dear.net_after_charges_cents == -5_000 and dear.worse_off
    stuck = MemberSavings("Stuck", 1, 10_000, 10_000, 0.0, move_cents=1)
    assert stuck.net_after_charges_cents == 0 and stuck.payback_year is None and stuck.worse_off


def test_plan_costs_charges_and_payback(session: Session, ids: dict[str, int]) -> None:
    """Office A (City) closes and its 40 people move to Office B (County): the City pays
    the County B's cost per place for each of them, bears their moving and fit-out, and the
    charges add up to zero across the region."""
    o = offices(session, ids)
    p = planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                      use="park", max_km=15, travel_cents_per_person_km=TRAVEL,
                      move_cents_per_person=150_000, fitout_cents_per_person=500_000,
                      charge_pct=100)
    b = next(s for s in p.sites if s.asset.id == o["b"].id)  # type: ignore[attr-defined]
    city = next(m for m in p.members if m.jurisdiction == "City of Seattle")
    county = next(m for m in p.members if m.jurisdiction == "King County")
    assert city.people_moved == pytest.approx(40)
    assert city.move_cents == 40 * 150_000 and city.fitout_cents == 40 * 500_000
    assert city.one_time_cents == 40 * 650_000 == p.one_time_cents
    charge = round(40 * b.fixed_cents / b.capacity)
    assert city.charges_paid_cents == charge == county.charges_received_cents
    assert county.charges_paid_cents == 0 and city.charges_received_cents == 0
    assert city.net_after_charges_cents == (city.fixed_saved_cents - city.travel_added_cents
                                            - charge)
    assert county.net_after_charges_cents == charge  # B was kept anyway: the charge is a gain
    # charges move money between members; the region's annual savings do not change
    assert sum(m.net_after_charges_cents for m in p.members) == pytest.approx(
        p.savings_cents, abs=2)
    assert city.payback_year == math.ceil(city.one_time_cents / city.net_after_charges_cents)
    assert p.payback_year == math.ceil(p.one_time_cents / p.savings_cents)
    assert not p.worse_off

    half = planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                         use="park", max_km=15, travel_cents_per_person_km=TRAVEL,
                         charge_pct=50)
    half_city = next(m for m in half.members if m.jurisdiction == "City of Seattle")
    assert half_city.charges_paid_cents == round(40 * b.fixed_cents / b.capacity * 0.5)


def test_a_member_worse_off_after_charges_is_flagged(client: TestClient, session: Session,
                                                     ids: dict[str, int]) -> None:
    """Closing the County's cheaper Office B by hand sends its people to the City's dearer
    Office A: at three times A's cost per place the County pays more than it saves."""
    o = offices(session, ids)
    a_id, b_id = o["a"].id, o["b"].id  # type: ignore[attr-defined]
    p = planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                      use="park", max_km=15, charge_pct=300, pins={a_id: True, b_id: False})
    county = next(m for m in p.members if m.jurisdiction == "King County")
    city = next(m for m in p.members if m.jurisdiction == "City of Seattle")
    assert county.net_after_charges_cents < 0 and county.worse_off
    assert county.payback_year is None
    assert city.charges_received_cents == county.charges_paid_cents > 0 and not city.worse_off
    assert [m.jurisdiction for m in p.worse_off] == ["King County"]

    login(client, ANALYST)
    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", "charge_pct": "300",
                           f"pin_{a_id}": "keep", f"pin_{b_id}": "close"})
    assert r.status_code == 200
    text = _page_text(r.text)
    assert "1 member would be worse off" in text
    assert (f"King County: loses {dollars(-county.net_after_charges_cents)} a year after "
            "occupancy charges") in text
    assert "King County (worse off)" in text
    ok = client.get("/property/consolidation", params={"use": "park", "max_km": "15"})
    assert "worse off" not in _page_text(ok.text)


def test_cost_inputs_are_checked_and_named(client: TestClient, session: Session,
                                           ids: dict[str, int]) -> None:
    offices(session, ids)
    login(client, ANALYST)
    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", "move_cost": "-5",
                           "charge_pct": "1e9"})
    assert r.status_code == 400
    text = _page_text(r.text)
    assert "Moving cost, $ per person who moves (once):" in text
    assert "Occupancy charge, % of the host building's annual cost per place:" in text


# -------------------------------------------------------------- interchangeable space


def test_special_purpose_space_is_left_out_and_said_why(client: TestClient, session: Session,
                                                        ids: dict[str, int]) -> None:
    o = offices(session, ids)
    a = o["a"]
    login(client, "admin@demo.govshare.org")
    page = client.get(f"/property/assets/{a.id}")  # type: ignore[attr-defined]
    assert "Special-purpose space" in page.text
    r = client.post(f"/property/assets/{a.id}/interchangeable",  # type: ignore[attr-defined]
                    data={"interchangeable": "no", "csrf_token": csrf_from(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Asset, a.id).interchangeable is False  # type: ignore[union-attr,attr-defined]
    bad = client.post(f"/property/assets/{a.id}/interchangeable",  # type: ignore[attr-defined]
                      data={"interchangeable": "maybe", "csrf_token": csrf_from(page.text)})
    assert bad.status_code == 400 and "Choose yes or no" in bad.text

    p = planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                      use="park", max_km=15)
    assert a.id not in {s.asset.id for s in p.sites}  # type: ignore[attr-defined]
    assert [(v.id, why) for v, why in p.excluded] == [
        (a.id, "special-purpose space: not interchangeable with other park buildings "  # type: ignore[attr-defined]
               "(set on the asset)")]
    login(client, ANALYST)
    page = client.get("/property/consolidation", params={"use": "park", "max_km": "15"}).text
    excluded = page[page.index('id="excluded"'):]
    assert "Left out of the plan" in _page_text(page)
    assert ">Office A</a></th><td data-label=\"Why\">special-purpose space: not " \
        "interchangeable with other park buildings (set on the asset)</td>" in excluded


def test_interchangeable_through_the_api_and_an_import(client: TestClient, session: Session,
                                                       ids: dict[str, int]) -> None:
    key = api_key(session, Role.jurisdiction_staff, ids["city"])
    h = {"Authorization": f"Bearer {key}"}
    body = {"asset_code": "LAB-1", "name": "Water quality lab", "use": "office",
            "interchangeable": False}
    r = client.post("/api/v1/assets", params={"jurisdiction_id": ids["city"]}, json=body,
                    headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["interchangeable"] is False
    lab = r.json()["id"]
    r = client.put(f"/api/v1/assets/{lab}", json={**body, "interchangeable": True}, headers=h)
    assert r.status_code == 200 and r.json()["interchangeable"] is True
    r = client.post("/api/v1/assets", params={"jurisdiction_id": ids["city"]},
                    json={**body, "asset_code": "LAB-2", "interchangeable": "perhaps"},
                    headers=h)
    assert r.status_code == 422 and "interchangeable" in r.text

    actor = principal(Role.regional_admin)
    header = "asset_code,name,use,interchangeable"
    good = io.BytesIO(b"asset_code,name,use,interchangeable\nJ1,Justice Center,office,no\n"
                      b"J2,Plain office,office,yes\nJ3,Other office,office,\n")
    importer.import_assets(session=session, actor=actor, jurisdiction_id=ids["city"],
                           source=good, fmt="csv")
    got = {a.asset_code: a.interchangeable for a in session.scalars(
        sa.select(Asset).where(Asset.asset_code.in_(["J1", "J2", "J3"])))}
    assert got == {"J1": False, "J2": True, "J3": True}  # empty: the default
    bad = io.BytesIO(f"{header}\nJ4,Lab,office,perhaps\n".encode())
    with pytest.raises(importer.ImportRefused) as exc:
        importer.import_assets(session=session, actor=actor, jurisdiction_id=ids["city"],
                               source=bad, fmt="csv")
    got_errors = [(e.row, e.column, e.reason) for e in exc.value.report]
    assert got_errors == [(2, "interchangeable",
                           "is not yes or no (yes/no, true/false, 1/0)")]


# ------------------------------------------------------------- keep/close on the page


def test_keep_and_close_chosen_on_the_page(client: TestClient, session: Session,
                                          ids: dict[str, int]) -> None:
    o = offices(session, ids)
    a_id, b_id = o["a"].id, o["b"].id  # type: ignore[attr-defined]
    login(client, ANALYST)
    r = client.get("/property/consolidation", params={"use": "park", "max_km": "15"})
    assert f'name="pin_{a_id}"' in r.text and 'id="pin-form"' in r.text
    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", f"pin_{a_id}": "keep",
                           f"pin_{b_id}": "close", "pin_99": "nonsense"})
    assert r.status_code == 200
    assert '<option value="keep" selected>Keep</option>' in r.text
    assert r.text.count("(by hand)") == 2
    p = planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                      use="park", max_km=15, pins={a_id: True, b_id: False})
    assert {s.asset.id for s in p.sites if s.keep} >= {a_id}
    assert f"saving {dollars(p.savings_cents)} a year" in _page_text(r.text)


# --------------------------------------------------------------- background solves


def _slow(release: threading.Event) -> Any:
    """The real solve, started only once `release` is set or the solve is canceled; before
    it waits, it reports progress as a region solved in three independent parts would."""
    def solve(*args: Any, **kwargs: Any) -> Any:
        cancel = kwargs.get("cancel")
        report = kwargs.get("on_progress")
        if report is not None:
            report(solver.Progress(phase="tree", elapsed=0.0, best=None, bound=None, gap=None,
                                   open_sites=None, part=2, parts=3, parts_done=1))
        while not release.is_set() and not (cancel is not None and cancel.is_set()):
            release.wait(0.02)
        sol = consolidation.solve(*args, **{k: v for k, v in kwargs.items()
                                            if k not in ("on_progress", "cancel")})
        if cancel is not None and cancel.is_set():
            import dataclasses
            return dataclasses.replace(sol, status="canceled", proven_optimal=False)
        return sol
    return solve


def test_long_solve_runs_in_the_background_and_can_be_canceled(
        client: TestClient, session: Session, ids: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    offices(session, ids)
    release = threading.Event()
    monkeypatch.setattr(planning, "solve", _slow(release))
    monkeypatch.setattr(pages, "INLINE_SECONDS", 0.05)
    login(client, ANALYST)
    r = client.get("/property/consolidation", params={"use": "park", "max_km": "15"},
                   follow_redirects=False)
    assert r.status_code == 303 and "job=" in r.headers["location"]
    progress = client.get(r.headers["location"])
    assert progress.status_code == 202
    text = _page_text(progress.text)
    assert "Finding the best plan for park buildings" in text
    assert "No complete plan yet." in text
    assert re.search(r"\(\d+ seconds so far, of at most 1 minute\)", text)
    assert ("Now trying choices of buildings and proving none is cheaper: 1 of 3 parts done "
            "(the region falls into groups of buildings no one may move between") in text
    assert 'http-equiv="refresh"' in progress.text and 'id="cancel-solve"' in progress.text
    job = r.headers["location"].split("job=")[1]
    # asking again for the same plan joins the running solve instead of starting another
    again = client.get("/property/consolidation", params={"use": "park", "max_km": "15"},
                       follow_redirects=False)
    assert again.headers["location"].endswith(f"job={job}")
    stop = client.post("/property/consolidation/cancel",
                       data={"job": job, "csrf_token": csrf_from(progress.text)},
                       follow_redirects=False)
    assert stop.status_code == 303
    done = planning.JOBS.get(job, 1)
    assert done is not None and done.wait(10)
    shown = client.get(stop.headers["location"])
    assert shown.status_code == 200
    text = _page_text(shown.text)
    assert "the solve was canceled before it could prove the plan optimal" in text
    assert "Find the best plan again" in text
    # another region cannot see the job; an unknown one says so
    assert planning.JOBS.get(job, 2) is None
    gone = client.get("/property/consolidation", params={"job": "nothing-here"})
    assert "no longer kept here" in gone.text


def test_finished_background_solve_is_shown(client: TestClient, session: Session,
                                           ids: dict[str, int],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for a longer solve (15 minutes), the progress page says its limit in minutes;
    once done, the plan is shown with the form's inputs, the time included."""
    offices(session, ids)
    release = threading.Event()
    monkeypatch.setattr(planning, "solve", _slow(release))
    monkeypatch.setattr(pages, "INLINE_SECONDS", 0.05)
    login(client, ANALYST)
    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", "minutes": "15"},
                   follow_redirects=False)
    job = r.headers["location"].split("job=")[1]
    try:
        progress = client.get(r.headers["location"])
        assert progress.status_code == 202
        assert re.search(r"\(\d+ seconds so far, of at most 15 minutes\)",
                         _page_text(progress.text))
        assert 'max="900.0"' in progress.text
    finally:
        release.set()
    found = planning.JOBS.get(job, 1)
    assert found is not None and found.wait(10)
    shown = client.get(r.headers["location"])
    assert shown.status_code == 200 and "Proven optimal" in shown.text
    assert 'value="15" ' in shown.text or 'value="15"' in shown.text  # the form keeps its inputs
    assert '<option value="15" selected>15 minutes</option>' in shown.text


# ----------------------------------------------------------------- demo data hygiene


def _row(name: str, address: str = "1 Main St", gfa: str = "10,000",
         year: str = "1970") -> dict[str, str]:
    return {"PropertyName": name, "Address": address, "PropertyGFATotal": gfa,
            "YearBuilt": year}


def test_duplicate_records_are_not_two_buildings() -> None:
    from govshare.cli.demo_property import dedupe, without_copy_mark

    assert without_copy_mark("Dept of Social & Health Services (WSDSHS) - COPY FOR "
                             "MAKENSAY") == "Dept of Social & Health Services (WSDSHS)"
    assert without_copy_mark("Annex (copy)") == "Annex"
    assert without_copy_mark("Copy Center") is None  # a name, not a marker
    rows = [_row("Annex"), _row("Annex - COPY FOR SAM"),
            _row("Depot", "9 Side St."), _row("Depot B", "9 side st", "10000"),
            _row("Depot C", "9 Side St", "12,000"),
            _row("Lone Office - COPY FOR MAKENSAY", "5 Far Rd")]
    kept, report = dedupe(rows)
    assert [r["PropertyName"] for r in kept] == ["Annex", "Depot", "Depot C", "Lone Office"]
    assert report == [
        "skipped 'Annex - COPY FOR SAM': a copy of the record of 'Annex', not a building of "
        "its own",
        "skipped 'Depot B': the same address, floor area and year built as 'Depot' (one "
        "building)",
        "renamed 'Lone Office - COPY FOR MAKENSAY' to 'Lone Office': a record marked as a "
        "copy, and the only record of its building in the file"]


def test_demo_marks_special_purpose_space_and_no_copy_names(session: Session,
                                                            ids: dict[str, int]) -> None:
    city = {a.name: a for a in session.scalars(
        sa.select(Asset).where(Asset.jurisdiction_id == ids["city"]))}
    assert city["Justice Center"].interchangeable is False
    assert city["Seattle Municipal Tower (2030)"].interchangeable is True
    names = session.scalars(sa.select(Asset.name)).all()
    assert not [n for n in names if "COPY FOR" in n.upper()]
    assert "Dept of Social & Health Services (WSDSHS)" in names
