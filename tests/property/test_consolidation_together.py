"""The planner's option "Keep each building's occupants together" (single-source): each
building's people move as one to a single building. Off by default (split demand, as
before); on, the solver's single-source model. The option changes the plan, is said on the
page, survives every round trip (the form, keep/close by hand, the background job, the
casebook and carbon forms and links), tells cached plans and jobs apart, and a value that is
not a yes or a no is refused by name (never a 500)."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.geodesy import haversine_km
from govshare.core.tenancy import Role
from govshare.property import pages, planning
from tests.conftest import csrf_from, login
from tests.factories.property import asset
from tests.factories.regions import api_key, principal
from tests.property.test_consolidation_plan import _slow
from tests.property.test_planning import TRAVEL, _page_text

ADMIN = "admin@demo.govshare.org"
SPLIT_WORDS = "Occupants of a building may be split among several buildings"
TOGETHER_WORDS = "Each building's occupants move together to one building"
LABEL = "Keep each building's occupants together"
LAT = 47.6050


def halls(session: Session, ids: dict[str, int]) -> dict[str, Any]:
    """Parks (a use the demo has none of): the City's dear hall X of 60 people between the
    County's two cheap halls Y and Z, 10 people each, 40 places free in each. Split, X
    closes and its 60 go 40 + 20 (or so) to Y and Z; kept together, 60 fit whole in neither,
    so X stays and takes in Y's and Z's people instead."""
    common = {"use": "park", "lat": LAT}
    return {
        "x": asset(session, ids["city"], asset_code="HX", name="Hall X", lon=-122.3350,
                   capacity=100, occupancy=60, annual_om_cost_cents=60_000_000, **common),
        "y": asset(session, ids["county"], asset_code="HY", name="Hall Y", lon=-122.3280,
                   capacity=50, occupancy=10, **common),
        "z": asset(session, ids["county"], asset_code="HZ", name="Hall Z", lon=-122.3420,
                   capacity=50, occupancy=10, **common),
    }


def _plan(session: Session, together: bool, **kw: Any) -> planning.Plan:
    return planning.plan(session=session, actor=principal(Role.regional_analyst), region_id=1,
                         use="park", max_km=15, travel_cents_per_person_km=TRAVEL,
                         keep_together=together, **kw)


def _km(a: Any, b: Any) -> float:
    return float(haversine_km(a.lon, a.lat, b.lon, b.lat))


# --------------------------------------------------------------------------- the solve


def test_keeping_occupants_together_changes_the_plan(session: Session, ids: dict[str, int],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    h = halls(session, ids)
    asked: list[bool] = []
    real = planning.solve

    def spy(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["single_source"])
        return real(*args, **kwargs)

    monkeypatch.setattr(planning, "solve", spy)
    split = _plan(session, False)
    together = _plan(session, True)
    assert asked == [False, True]  # the option reaches the solver, and only it
    assert split.proven and together.proven
    assert not split.keep_together and together.keep_together
    assert (split.model_label, together.model_label) == (SPLIT_WORDS, TOGETHER_WORDS)

    # split: X closes and its people are shared between Y and Z
    assert {s.asset.asset_code for s in split.sites if s.keep} == {"HY", "HZ"}
    x = next(s for s in split.sites if s.asset.asset_code == "HX")
    assert len(x.served_from) == 2 and sum(sh for _t, sh, _km in x.served_from) == \
        pytest.approx(1.0)
    # together: every building's people in exactly one building, whole
    for s in together.sites:
        assert len(s.served_from) == 1, (s.asset.name, s.served_from)
        assert s.served_from[0][1] == 1.0
    assert {s.asset.asset_code for s in together.sites if s.keep} == {"HX"}
    # a restriction of the split model: never cheaper
    assert together.plan_cents >= split.plan_cents
    assert together.savings_cents <= split.savings_cents

    # per member, from whole shares: the County's 20 people move into the City's hall X
    x_site = next(s for s in together.sites if s.asset.asset_code == "HX")
    county = next(m for m in together.members if m.jurisdiction == "King County")
    city = next(m for m in together.members if m.jurisdiction == "City of Seattle")
    assert county.people_moved == 20 and city.people_moved == 0 == city.closed
    assert county.closed == 2
    assert county.move_cents == 20 * planning.DEFAULT_MOVE_CENTS_PER_PERSON
    assert county.fitout_cents == 20 * planning.DEFAULT_FITOUT_CENTS_PER_PERSON
    travel = sum(round(10 * _km(h[k], h["x"]) * TRAVEL) for k in ("y", "z"))
    assert county.travel_added_cents == travel
    charge = sum(round(10 * x_site.cost_per_place_cents) for _ in range(2))
    assert county.charges_paid_cents == charge == city.charges_received_cents
    assert together.people_moved == 20


def test_the_problem_key_tells_the_two_models_apart(session: Session,
                                                    ids: dict[str, int]) -> None:
    """A cached plan or a running job is found by Problem.key(): a split plan is never
    served for a keep-together request, or the other way round."""
    halls(session, ids)

    def key(together: bool) -> str:
        return planning.prepare(session=session, actor=principal(Role.regional_analyst),
                                region_id=1, use="park", max_km=15,
                                keep_together=together).key()

    assert key(True) == key(True) and key(False) == key(False)
    assert key(True) != key(False)


def test_keep_together_infeasible_says_so(session: Session, ids: dict[str, int]) -> None:
    """At most one building and X closed by hand: no plan, and the reason names the
    option (letting people be split is one way out)."""
    h = halls(session, ids)
    p = _plan(session, True, max_sites=1, pins={h["x"].id: False})
    assert p.solution.status == "infeasible" and not p.has_plan
    assert p.why_not_proven.endswith("with each building's occupants kept together")


# ------------------------------------------------------------------------------ the page


def _hidden(page: str, form_id: str) -> dict[str, str]:
    form = page.split(f'id="{form_id}"')[1].split("</form>")[0]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_the_page_offers_the_option_and_keeps_it(client: TestClient, session: Session,
                                                 ids: dict[str, int]) -> None:
    h = halls(session, ids)
    login(client, ADMIN)
    empty = client.get("/property/consolidation")
    box = re.search(r'<input class="usa-checkbox__input" id="c-together"[^>]*>', empty.text)
    assert box is not None and 'name="keep_together"' in box.group(0)
    assert "checked" not in box.group(0)  # off by default
    assert f'for="c-together">{LABEL}' in empty.text.replace("&#39;", "'")

    split = client.get("/property/consolidation", params={"use": "park", "max_km": "15"})
    assert split.status_code == 200
    text = _page_text(split.text)
    assert f"{SPLIT_WORDS} (if that costs less)." in text
    assert f"Model: {SPLIT_WORDS.lower()}." in text  # beside the method, in the details
    assert 'value="yes" checked' not in split.text
    assert _hidden(split.text, "pin-form")["keep_together"] == ""

    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", "keep_together": "yes"})
    assert r.status_code == 200
    text = _page_text(r.text)
    assert f"{TOGETHER_WORDS} (as asked" in text
    assert f"Model: {TOGETHER_WORDS.lower()}." in text
    assert 'name="keep_together" value="yes" checked' in r.text
    # X is kept: its 60 people fit whole in neither Y nor Z
    assert "Hall X</a></th>" in r.text and "keep 1 of 3" in text
    # every form that finds the plan again carries the option
    for form_id in ("pin-form", "make-proposal", "to-carbon-plan"):
        assert _hidden(r.text, form_id)["keep_together"] == "yes", form_id
    # keep/close by hand (the pin form): still kept together
    pinned = client.get("/property/consolidation",
                        params={**_hidden(r.text, "pin-form"), f"pin_{h['y'].id}": "keep"})
    assert pinned.status_code == 200
    assert 'name="keep_together" value="yes" checked' in pinned.text
    assert f"{TOGETHER_WORDS} (as asked" in _page_text(pinned.text)
    # any way of writing yes is a yes, and shown as the one value the page sends
    true = client.get("/property/consolidation",
                      params={"use": "park", "max_km": "15", "keep_together": "true"})
    assert _hidden(true.text, "pin-form")["keep_together"] == "yes"
    off = client.get("/property/consolidation",
                     params={"use": "park", "max_km": "15", "keep_together": "no"})
    assert _hidden(off.text, "pin-form")["keep_together"] == ""
    assert f"{SPLIT_WORDS} (if that costs less)." in _page_text(off.text)


@pytest.mark.parametrize("junk", ["maybe", "2", "yes please", "<b>x</b>"])
def test_the_page_refuses_junk_by_name(client: TestClient, session: Session,
                                       ids: dict[str, int], junk: str) -> None:
    halls(session, ids)
    login(client, ADMIN)
    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", "keep_together": junk})
    assert r.status_code == 400
    assert f"{LABEL}: Input should be a valid boolean" in _page_text(r.text)
    assert "<b>x</b>" not in r.text


def test_the_page_refuses_an_overlong_value_by_name(client: TestClient, session: Session,
                                                    ids: dict[str, int]) -> None:
    halls(session, ids)
    login(client, ADMIN)
    r = client.get("/property/consolidation",
                   params={"use": "park", "max_km": "15", "keep_together": "y" * 500})
    assert r.status_code in (400, 422) and "keep_together" in r.text


def test_a_background_solve_keeps_the_option(client: TestClient, session: Session,
                                             ids: dict[str, int],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    halls(session, ids)
    release = threading.Event()
    slow = _slow(release)
    asked: list[bool] = []

    def solve(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["single_source"])
        return slow(*args, **kwargs)

    monkeypatch.setattr(planning, "solve", solve)
    monkeypatch.setattr(pages, "INLINE_SECONDS", 0.05)
    login(client, ADMIN)
    params = {"use": "park", "max_km": "15", "keep_together": "yes"}
    r = client.get("/property/consolidation", params=params, follow_redirects=False)
    assert r.status_code == 303 and "keep_together=yes" in r.headers["location"]
    job = r.headers["location"].split("job=")[1]
    progress = client.get(r.headers["location"])
    assert progress.status_code == 202
    assert f"{TOGETHER_WORDS}." in _page_text(progress.text)
    # the same request joins it; the split one is another job, never this one
    again = client.get("/property/consolidation", params=params, follow_redirects=False)
    assert again.headers["location"].endswith(f"job={job}")
    split = client.get("/property/consolidation", params={"use": "park", "max_km": "15"},
                       follow_redirects=False)
    split_job = split.headers["location"].split("job=")[1]
    assert split_job != job and "keep_together" not in split.headers["location"]
    assert f"{SPLIT_WORDS}." in _page_text(client.get(split.headers["location"]).text)
    release.set()
    for j in (job, split_job):
        found = planning.JOBS.get(j, 1)
        assert found is not None and found.wait(10)
    assert sorted(asked) == [False, True]
    shown = client.get(f"/property/consolidation?job={job}")
    assert shown.status_code == 200
    assert 'name="keep_together" value="yes" checked' in shown.text
    assert f"{TOGETHER_WORDS} (as asked" in _page_text(shown.text)
    assert _hidden(shown.text, "pin-form")["keep_together"] == "yes"
    other = client.get(f"/property/consolidation?job={split_job}")
    assert 'value="yes" checked' not in other.text
    assert f"{SPLIT_WORDS} (if that costs less)." in _page_text(other.text)


# ---------------------------------------------------------------------------- carbon plan


def _h(session: Session, role: Role) -> dict[str, str]:
    key = api_key(session, role, None, name=f"keep together {role.value}")
    session.commit()
    return {"X-API-Key": key}


def test_the_carbon_plan_takes_the_option(client: TestClient, session: Session,
                                          ids: dict[str, int]) -> None:
    h = halls(session, ids)
    session.commit()
    admin = _h(session, Role.regional_admin)
    url = "/api/v1/property/consolidation/carbon-measures"

    def closed(out: dict[str, Any]) -> set[int]:
        return {b["asset_id"] for m in out["members"] for b in m["counted"] + m["left_out"]}

    r = client.post(url, headers=admin, json={"use": "park", "max_km": 15,
                                              "keep_together": True, "start_year": 2027})
    assert r.status_code == 201, r.text
    assert closed(r.json()) == {h["y"].id, h["z"].id}
    assert "keep_together=yes" in r.json()["link"]
    r = client.post(url, headers=admin, json={"use": "park", "max_km": 15,
                                              "start_year": 2027})
    assert r.status_code == 201, r.text
    assert closed(r.json()) == {h["x"].id} and "keep_together" not in r.json()["link"]
    for junk in ("maybe", 2, [True], {"a": 1}):
        bad = client.post(url, headers=admin, json={"use": "park", "keep_together": junk})
        assert bad.status_code == 422, (junk, bad.text)
        assert [e["loc"][-1] for e in bad.json()["errors"]] == ["keep_together"]

    # the plan page's own button, without a script
    login(client, ADMIN)
    page = client.get("/property/consolidation",
                      params={"use": "park", "max_km": "15", "keep_together": "yes"})
    form = {**_hidden(page.text, "to-carbon-plan"), "csrf_token": csrf_from(page.text)}
    assert form["keep_together"] == "yes"
    bad = client.post("/property/consolidation/carbon-measures",
                      data={**form, "keep_together": "maybe", "start_year": "2028"})
    assert bad.status_code == 422
    assert (f"The plan's inputs are not valid: find the plan again ({LABEL}: Input should "
            "be a valid boolean") in _page_text(bad.text)
    ok = client.post("/property/consolidation/carbon-measures",
                     data={**form, "start_year": "2028"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].startswith("/carbon/targets")
