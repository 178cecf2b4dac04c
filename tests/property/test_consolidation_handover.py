"""What acts on a consolidation plan takes the plan its page showed, not one solved again.

The plan page names its solve (``job``) in its two buttons, "Add to the carbon plan" and
"Make it a proposal in the casebook", and carries the time the solver had. The pages take
the finished plan of that solve from ``planning.JOBS`` while this process keeps it. A plan
given more than the default minute that is no longer kept is not solved again inside the
request: the pages go back to its plan page, which finds it again in the background, and the
API answers 409 ``plan-not-kept``. The links back to the plan carry its time too.

To tell a kept plan from a plan solved again, the page's solve is handed another real plan
of the same buildings (one that keeps the park the optimum closes) and marked stopped by
hand, so that only its own id finds it (``Jobs.latest`` skips such solves)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.carbon.models import Measure
from govshare.casebook.models import CaseProposal
from govshare.core.tenancy import Role
from govshare.property import planning
from tests.conftest import csrf_from, login
from tests.factories.regions import api_key, principal
from tests.property.test_consolidation_carbon import ORIGIN, parks

ADMIN = "admin@demo.govshare.org"


def _job(text: str, form: str) -> str:
    """The solve named by the page's form (id="to-carbon-plan" or "make-proposal")."""
    body = text.split(f'id="{form}"', 1)[1].split("</form>", 1)[0]
    found = re.search(r'name="job" value="([A-Za-z0-9_-]+)"', body)
    assert found is not None, f"no job in the {form} form"
    return found.group(1)


def _swap_in_other_plan(session: Session, job_id: str, keep: int) -> planning.Plan:
    """Give the page's solve a different real plan (``keep`` kept by hand) and mark it stopped
    by hand: only its id finds it now."""
    other = planning.plan(session=session, actor=principal(Role.regional_admin),
                          region_id=1, use="park", max_km=15, pins={keep: True})
    found = planning.JOBS.get(job_id, 1)
    assert found is not None and not found.running
    found.result = other
    found.cancel.set()
    return other


def _closed(plan: planning.Plan) -> set[int]:
    return {s.asset.id for s in plan.sites if not s.keep}


def _parks_plan_page(client: TestClient, session: Session, ids: dict[str, int]
                     ) -> tuple[dict[str, Any], Any]:
    """The four parks, and their plan page as the regional admin sees it (1 minute)."""
    p = parks(session, ids)
    session.commit()
    login(client, ADMIN)
    page = client.get("/property/consolidation", params={"use": "park", "max_km": "15"})
    assert page.status_code == 200
    return p, page


def test_carbon_button_adds_the_plan_shown(client: TestClient, session: Session,
                                           ids: dict[str, int]) -> None:
    p, page = _parks_plan_page(client, session, ids)
    job = _job(page.text, "to-carbon-plan")
    assert _job(page.text, "make-proposal") == job
    assert 'name="minutes" value="1"' in page.text.split('id="to-carbon-plan"', 1)[1]
    shown = planning.JOBS.get(job, 1)
    assert shown is not None and shown.result is not None
    assert _closed(shown.result) == {p["a"].id, p["d"].id}  # the optimum closes A and D
    other = _swap_in_other_plan(session, job, keep=p["a"].id)
    assert p["a"].id not in _closed(other) and _closed(other)  # A kept: another closes
    form = {"csrf_token": csrf_from(page.text), "use": "park", "max_km": "15",
            "max_sites": "", "travel": "191.36", "keep_together": "", "minutes": "1",
            "start_year": "2030", "job": job}
    r = client.post("/property/consolidation/carbon-measures", data=form,
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/carbon/targets")
    session.expire_all()
    measures = list(session.scalars(select(Measure).where(Measure.origin == ORIGIN)))
    # the plan shown (A kept) closes none of the city's parks: no measure names Park A
    assert all("Park <b>A</b>" not in m.name for m in measures)
    # a job id of another region, or made up, finds nothing: the plan is found again (its
    # one minute is allowed in a request) and closes A, as the optimum does
    r = client.post("/property/consolidation/carbon-measures",
                    data={**form, "job": "not-a-job"}, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    measures = list(session.scalars(select(Measure).where(Measure.origin == ORIGIN)))
    assert [m.jurisdiction_id for m in measures] == [ids["city"]]
    assert "Park <b>A</b>" in measures[0].name


def test_casebook_button_makes_the_plan_shown_a_proposal(client: TestClient, session: Session,
                                                         ids: dict[str, int]) -> None:
    p, page = _parks_plan_page(client, session, ids)
    job = _job(page.text, "make-proposal")
    other = _swap_in_other_plan(session, job, keep=p["a"].id)
    kept = sum(s.keep for s in other.sites)
    form = {"csrf_token": csrf_from(page.text), "use": "park", "max_km": "15",
            "max_sites": "", "travel": "191.36", "move_cost": "1500", "fitout_cost": "5000",
            "charge_pct": "100", "keep_together": "", "minutes": "1", "job": job}
    r = client.post("/casebook/from-consolidation", data=form, follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/casebook/\d+", r.headers["location"])
    session.expire_all()
    proposal = session.get(CaseProposal, int(r.headers["location"].rsplit("/", 1)[1]))
    assert proposal is not None
    assert f"keep {kept} of {len(other.sites)}" in (proposal.description or "")
    assert "minutes=1" in (proposal.source_link or "")  # back to the same plan, the same time


def test_a_longer_plan_no_longer_kept_is_found_again_not_solved_in_the_request(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    _, page = _parks_plan_page(client, session, ids)
    token = csrf_from(page.text)
    # 15 minutes: no solve of that problem is kept (the page solved it with 1)
    form = {"csrf_token": token, "use": "park", "max_km": "15", "max_sites": "",
            "travel": "191.36", "keep_together": "", "minutes": "15", "start_year": "2030",
            "job": "gone-after-a-restart"}
    r = client.post("/property/consolidation/carbon-measures", data=form,
                    follow_redirects=False)
    assert r.status_code == 303
    where = r.headers["location"]
    assert where.startswith("/property/consolidation?use=park") and "minutes=15" in where
    # the plan page says why and finds the plan again (here at once: four parks)
    again = client.get(where)
    assert again.status_code == 200
    assert ("The plan solved with up to 15 minutes is no longer kept here, so it is being "
            "found again. Add it to the carbon plan once it is shown.") in again.text
    assert 'name="minutes" value="15"' in again.text.split('id="to-carbon-plan"', 1)[1]
    session.expire_all()
    assert list(session.scalars(select(Measure).where(Measure.origin == ORIGIN))) == []
    # that page's solve is kept now: the casebook takes its plan (by its problem's key)
    casebook = {**form, "move_cost": "1500", "fitout_cost": "5000", "charge_pct": "100"}
    r = client.post("/casebook/from-consolidation", data=casebook, follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/casebook/\d+", r.headers["location"])
    # 30 minutes was never solved: back to its plan page
    r = client.post("/casebook/from-consolidation", data={**casebook, "minutes": "30"},
                    follow_redirects=False)
    assert r.status_code == 303 and "minutes=30" in r.headers["location"]
    assert r.headers["location"].startswith("/property/consolidation?")
    assert "Make it a proposal once it is shown" in client.get(r.headers["location"]).text
    # a minutes value out of range is refused by name, shown on the plan page
    bad = client.post("/property/consolidation/carbon-measures",
                      data={**form, "minutes": "61"})
    assert bad.status_code == 422
    assert "Time for the solver (minutes)" in bad.text


def test_api_finds_a_kept_plan_and_refuses_to_solve_a_long_one(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    parks(session, ids)
    session.commit()
    key = api_key(session, Role.regional_admin, name="handover admin")
    session.commit()
    url = "/api/v1/property/consolidation/carbon-measures"
    r = client.post(url, headers={"X-API-Key": key},
                    json={"use": "park", "max_km": 15, "minutes": 30})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "plan-not-kept" and "30 minutes" in body["detail"]
    r = client.post("/api/v1/casebook/proposals/from-consolidation",
                    headers={"X-API-Key": key},
                    json={"use": "park", "start_year": 2030, "minutes": 30})
    assert r.status_code == 409 and r.json()["code"] == "plan-not-kept"
    r = client.post(url, headers={"X-API-Key": key},
                    json={"use": "park", "max_km": 15, "minutes": 0})
    assert r.status_code == 422
    assert {str(e["loc"][-1]) for e in r.json()["errors"]} == {"minutes"}
    # the default minute is solved in the request, as before; its link has no minutes
    r = client.post(url, headers={"X-API-Key": key}, json={"use": "park", "max_km": 15})
    assert r.status_code == 201 and "minutes" not in r.json()["link"]


def test_kept_is_per_problem_and_region(session: Session, ids: dict[str, int]) -> None:
    """Only a finished solve of the very same problem is taken, and only in its region."""
    p = parks(session, ids)
    session.commit()
    actor = principal(Role.regional_admin)
    problem = planning.prepare(session=session, actor=actor, region_id=1, use="park",
                               max_km=15)
    other = planning.prepare(session=session, actor=actor, region_id=1, use="park",
                             max_km=15, pins={p["a"].id: True})
    longer = planning.prepare(session=session, actor=actor, region_id=1, use="park",
                              max_km=15, time_limit=600)
    job = planning.JOBS.start(problem.key(), 1, lambda j: planning.run(problem))
    assert job.wait(60) and job.result is not None
    assert planning.kept(problem, 1, job.id) is job.result
    assert planning.kept(problem, 1) is job.result  # by its key: not stopped by hand
    assert planning.kept(problem, 2, job.id) is None  # another region's
    assert planning.kept(other, 1, job.id) is None  # another problem: other pins
    assert planning.kept(longer, 1, job.id) is None  # the same, with more time
    job.cancel.set()  # stopped by hand: only its own id finds it
    assert planning.kept(problem, 1) is None
    assert planning.kept(problem, 1, job.id) is job.result
    # an edit to a building is another problem too
    p["b"].capacity = 150
    session.commit()
    edited = planning.prepare(session=session, actor=actor, region_id=1, use="park",
                              max_km=15)
    assert edited.key() != problem.key()
    assert planning.kept(edited, 1, job.id) is None
