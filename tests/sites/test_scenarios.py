"""Sites on the database (both backends): the reference scenarios, the candidate upload, bad
scenarios, the API (pages walked in contract tests) and the pages."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.cli.demo_sites import DEMO_SCENARIO
from govshare.core import tabular as t
from govshare.core.errors import ValidationFailed
from govshare.core.tenancy import Role
from govshare.regions.models import Region
from govshare.sites import queries, service
from govshare.sites.models import SiteScenario
from govshare.sites.schemas import ScenarioIn
from govshare.sites.service import REFERENCE_SCENARIOS
from tests.conftest import csrf_from, login
from tests.factories.regions import api_key


def _region(session: Session) -> int:
    return session.scalars(select(Region.id)).one()


def _scenario(session: Session, name: str) -> SiteScenario:
    return queries.find_scenario(session=session, region_id=_region(session), name=name)


def _rows(session: Session, name: str) -> dict[str, dict[str, Any]]:
    ev = queries.evaluate_row(_scenario(session, name))
    return {r["fips"]: r for r in queries.candidate_rows(ev)}


def test_minnesota_reference_compares_the_iron_range_with_hennepin(session: Session) -> None:
    rows = _rows(session, REFERENCE_SCENARIOS[0]["name"])
    ev = queries.evaluate_row(_scenario(session, REFERENCE_SCENARIOS[0]["name"]))
    assert len(rows) + len(ev.result.excluded) == 87  # every Minnesota county
    base, st_louis, itasca = rows["27053"], rows["27137"], rows["27061"]
    assert base["is_baseline"] and base["savings_usd"] == 0
    # QCEW 2022: Hennepin $1,654 a week, St. Louis $1,087, Itasca $971
    assert st_louis["wage_index"] == pytest.approx(1087 / 1654, abs=1e-4)
    assert itasca["wage_index"] == pytest.approx(971 / 1654, abs=1e-4)
    payroll = 120 * 62_000 + 50 * 70_000 + 20 * 88_000 + 10 * 120_000
    assert st_louis["payroll_usd"] == round(payroll * 1087 / 1654)
    # rent: no public county figure, the proxy is labeled
    assert st_louis["rent_origin"].startswith("proxy")
    assert st_louis["savings_usd"] > 0 and itasca["savings_usd"] > st_louis["savings_usd"]
    assert st_louis["distress_score"] > base["distress_score"]
    assert itasca["distress_score"] > base["distress_score"]
    assert 0 <= st_louis["p_top3"] <= 1


def test_virginia_reference_covers_counties_and_cities_and_shows_russell(
        session: Session) -> None:
    name = REFERENCE_SCENARIOS[1]["name"]
    rows = _rows(session, name)
    ev = queries.evaluate_row(_scenario(session, name))
    assert len(rows) + len(ev.result.excluded) == 133  # 95 counties and 38 cities
    excluded = {f for f, _n, _w in ev.result.excluded}
    assert "51720" in excluded  # Norton city: labor force under 10 x 433
    russell = rows["51167"]
    assert russell["wage_index"] == pytest.approx(867 / 1106, abs=1e-4)
    assert russell["jobs_direct"] == 433
    assert russell["distress_score"] == pytest.approx(90.8, abs=0.05)
    assert russell["jobs_share_unemployed_pct"] == pytest.approx(100 * 433 / 478, abs=0.01)


def test_bad_scenarios_are_refused_naming_the_field(session: Session, system: Any) -> None:
    region = _region(session)
    for change, field in (({"baseline_fips": "99999"}, "baseline_fips"),
                          ({"candidates": {"kind": "list", "fips": ["53033", "00000"]}},
                           "fips"),
                          ({"min_labor_force_multiple": 1000, "max_km_to_hq": 1,
                            "candidates": {"kind": "list", "fips": ["53077"]},
                            "baseline_fips": "53033"}, None)):
        data = ScenarioIn.model_validate({**DEMO_SCENARIO, "name": "Bad one", **change})
        with pytest.raises(ValidationFailed) as err:
            service.create_scenario(session=session, actor=system, region_id=region, data=data)
        if field:
            assert err.value.errors[0]["loc"] == [field]
    with pytest.raises(ValueError, match="sum to zero"):
        ScenarioIn.model_validate({**DEMO_SCENARIO, "weights": {
            "savings": 0, "distress": 0, "jobs_share": 0, "labor_pool": 0}})
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        ScenarioIn.model_validate({**DEMO_SCENARIO, "roles": [
            {"name": "A", "headcount": -5, "salary_usd": 50_000}]})
    assert session.scalar(select(SiteScenario).where(SiteScenario.name == "Bad one")) is None


GOOD = b"fips,rent_usd_ft2,weekly_wage_2022\r\n53077,18.5,\r\n53041,16,1000\r\n"
BAD = (b"fips,rent_usd_ft2,weekly_wage_2022\r\n"
       b"53077,18.5,\r\n"        # row 2: fine
       b"99999,10,\r\n"          # row 3: no such county
       b"53041,-4,\r\n"          # row 4: out of range
       b"53077,12,\r\n"          # row 5: given twice
       b"53033,cheap,\r\n")      # row 6: not a number


def test_upload_replaces_all_or_nothing_and_is_idempotent(session: Session,
                                                          system: Any) -> None:
    row = _scenario(session, DEMO_SCENARIO["name"])
    region = _region(session)
    with pytest.raises(t.Refused) as err:
        service.upload_candidates(session=session, actor=system, region_id=region,
                                  scenario_id=row.id, stream=io.BytesIO(BAD), name="bad.csv")
    problems = {(e.row, e.reason.split(" ")[0]) for e in err.value.report.first(50)}
    err.value.report.close()
    assert {p[0] for p in problems} == {3, 4, 5, 6}
    assert row.overrides == {} and row.overrides_file is None  # nothing kept
    for _ in range(2):
        service.upload_candidates(session=session, actor=system, region_id=region,
                                  scenario_id=row.id, stream=io.BytesIO(GOOD), name="good.csv")
        assert row.overrides == {"53077": {"rent_usd_ft2": 18.5},
                                 "53041": {"rent_usd_ft2": 16.0, "weekly_wage_2022": 1000.0}}
    rows = {r["fips"]: r for r in queries.candidate_rows(queries.evaluate_row(row))}
    assert rows["53077"]["rent_usd_ft2"] == 18.5
    assert rows["53077"]["rent_origin"] == "uploaded: good.csv"
    assert rows["53041"]["wage_origin"] == "uploaded: good.csv"
    assert rows["53041"]["weekly_wage_2022"] == 1000


def test_api_creates_ranks_and_refuses_by_role(client: TestClient, session: Session,
                                               ids: dict[str, int]) -> None:
    analyst = {"X-API-Key": api_key(session, Role.regional_analyst)}
    staff = {"X-API-Key": api_key(session, Role.jurisdiction_staff, ids["city"], name="s")}
    session.commit()
    body = {**DEMO_SCENARIO, "name": "API center"}
    assert client.post("/api/v1/sites/scenarios", json=body, headers=staff).status_code == 403
    assert client.post("/api/v1/sites/scenarios", json=body).status_code == 401
    r = client.post("/api/v1/sites/scenarios", json=body, headers=analyst)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    ranking = client.get(f"/api/v1/sites/scenarios/{sid}/ranking", headers=staff).json()
    assert ranking["items"][0]["rank"] == 1
    assert client.post("/api/v1/sites/scenarios", json=body, headers=analyst).status_code == 409
    bad = client.post("/api/v1/sites/scenarios", headers=analyst,
                      json={**body, "name": "Nowhere", "baseline_fips": "99999"})
    assert bad.status_code == 422 and "99999" in bad.text
    up = client.post(f"/api/v1/sites/scenarios/{sid}/candidates", headers=analyst,
                     files={"file": ("bad.csv", BAD, "text/csv")})
    assert up.status_code == 422
    assert {e["loc"][0] for e in up.json()["errors"]} >= {"row 3", "row 4"}
    assert client.get("/api/v1/sites/scenarios/999999", headers=staff).status_code == 404


HOSTILE = '<img src=x onerror=alert(1)>"=HYPERLINK("http://x")'


def test_pages_show_sources_escape_hostile_names_and_export_safely(
        client: TestClient, session: Session, system: Any) -> None:
    row = service.create_scenario(
        session=session, actor=system, region_id=_region(session),
        data=ScenarioIn.model_validate({**DEMO_SCENARIO, "name": HOSTILE,
                                        "roles": [{"name": HOSTILE, "headcount": 150,
                                                   "salary_usd": 70_000}]}))
    session.commit()
    login(client, "analyst@demo.govshare.org")
    page = client.get(f"/sites/scenarios/{row.id}")
    assert page.status_code == 200
    assert "<img src=x" not in page.text and "&lt;img src=x" in page.text
    for text in ("Quarterly Census of Employment and Wages", "2022 annual average",
                 "proxy", "never added", "Not available", "Housing vacancy rate",
                 "Pareto frontier", "top three", "Yakima County",
                 "How far can each weight move?"):
        assert text in page.text, text
    listing = client.get("/sites")
    assert "&lt;img src=x" in listing.text and "<img src=x" not in listing.text
    csv = client.get(f"/sites/scenarios/{row.id}/export.csv")
    assert csv.status_code == 200 and 'filename="sites-img-src-x' in \
        csv.headers["content-disposition"]
    geo = client.get(f"/sites/scenarios/{row.id}/map.json").json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) > 20
    trace = client.get(f"/sites/scenarios/{row.id}/counties/53077")
    assert "county wage / baseline wage" in trace.text and "Budget" in trace.text


def test_the_form_creates_a_scenario_and_explains_bad_input(client: TestClient) -> None:
    login(client, "analyst@demo.govshare.org")
    form = client.get("/sites/new")
    token = csrf_from(form.text)
    data = {"csrf_token": token, "name": "Form center", "roles": "Analysts, 40, 60000",
            "baseline_fips": "99999", "rent_baseline_usd_ft2": "30", "kind": "state",
            "states": "WA", "w_savings": "1", "w_distress": "1", "w_jobs_share": "0",
            "w_labor_pool": "0", "min_labor_force_multiple": "10", "draws": "200"}
    bad = client.post("/sites/new", data=data)
    assert bad.status_code == 422 and "99999" in bad.text and "Nothing was saved" in bad.text
    ok = client.post("/sites/new", data={**data, "baseline_fips": "53033"},
                     follow_redirects=False)
    assert ok.status_code == 303
    page = client.get(ok.headers["location"])
    assert page.status_code == 200 and "Form center" in page.text


def test_staff_read_but_may_not_manage(client: TestClient) -> None:
    login(client, "seattle.staff@demo.govshare.org")
    assert client.get("/sites").status_code == 200
    assert client.get("/sites/new").status_code == 403


def test_a_long_monte_carlo_run_shows_progress_then_the_result(
        client: TestClient, session: Session, system: Any, backend: str) -> None:
    draws = 2_000 + (backend == "postgresql")  # results are cached per process and inputs
    states = sorted(set(queries.counties().state.tolist()))
    row = service.create_scenario(  # saving checks the scenario without the Monte Carlo
        session=session, actor=system, region_id=_region(session),
        data=ScenarioIn.model_validate({
            **DEMO_SCENARIO, "name": "Every county, many draws", "draws": draws,
            "min_labor_force_multiple": 0, "max_km_to_hq": None,
            "candidates": {"kind": "state", "states": states}}))
    session.commit()
    login(client, "analyst@demo.govshare.org")
    first = client.get(f"/sites/scenarios/{row.id}")
    assert first.status_code == 202
    # no timed refresh while scripts run: a script follows the run; without them, noscript
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in first.text
    assert f'id="mc-progress" max="{draws}"' in first.text and "sites-progress.js" in first.text
    for _ in range(240):  # the run takes a second or two; the page is answered meanwhile
        state = client.get(f"/sites/scenarios/{row.id}/progress.json").json()
        if state["state"] != "running":
            break
        assert state["total"] == draws and 0 <= state["done"] <= draws
        time.sleep(0.5)
    assert state == {"state": "ready", "done": None, "total": None}
    page = client.get(f"/sites/scenarios/{row.id}")
    assert page.status_code == 200 and "top three" in page.text
    assert "Rank range" in page.text  # shown as — above 5 million draws x candidates


def test_a_background_run_can_be_canceled_and_run_again(
        client: TestClient, session: Session, system: Any, backend: str) -> None:
    draws = 10_000 - (backend == "postgresql")  # its own inputs: not in the per-process cache
    states = sorted(set(queries.counties().state.tolist()))
    row = service.create_scenario(
        session=session, actor=system, region_id=_region(session),
        data=ScenarioIn.model_validate({
            **DEMO_SCENARIO, "name": "Every county, canceled", "draws": draws,
            "min_labor_force_multiple": 0, "max_km_to_hq": None,
            "candidates": {"kind": "state", "states": states}}))
    session.commit()
    login(client, "seattle.staff@demo.govshare.org")  # staff read and watch, may not cancel
    running = client.get(f"/sites/scenarios/{row.id}")
    assert running.status_code == 202 and 'id="cancel-run"' not in running.text
    token = csrf_from(running.text)
    refused = client.post(f"/sites/scenarios/{row.id}/cancel", data={"csrf_token": token})
    assert refused.status_code == 403
    login(client, "analyst@demo.govshare.org")
    page = client.get(f"/sites/scenarios/{row.id}")
    assert page.status_code == 202 and 'id="cancel-run"' in page.text
    r = client.post(f"/sites/scenarios/{row.id}/cancel",
                    data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    for _ in range(100):  # it stops before its next chunk of draws
        state = client.get(f"/sites/scenarios/{row.id}/progress.json").json()
        if state["state"] != "running":
            break
        time.sleep(0.1)
    assert state["state"] == "canceled" and state["done"] < draws
    page = client.get(f"/sites/scenarios/{row.id}")  # stays canceled: no new run starts
    assert page.status_code == 200 and 'id="run-canceled"' in page.text
    assert "Run it again" in page.text
    assert queries.cached(queries.scenario_in(row)) is None  # nothing partial kept
    r = client.post(f"/sites/scenarios/{row.id}/run", data={"csrf_token": csrf_from(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    again = client.get(f"/sites/scenarios/{row.id}")
    assert again.status_code == 202  # started afresh
    job = queries.running(row)
    assert job is not None and not job.canceled
    queries.cancel_run(row)  # do not leave it running for the next tests


def test_the_page_upload_reports_every_problem_and_the_choice_feeds_the_value_case(
        client: TestClient, session: Session) -> None:
    row = _scenario(session, DEMO_SCENARIO["name"])
    login(client, "analyst@demo.govshare.org")
    token = csrf_from(client.get(f"/sites/scenarios/{row.id}").text)
    r = client.post(f"/sites/scenarios/{row.id}/candidates", data={"csrf_token": token},
                    files={"file": ("bad.csv", BAD, "text/csv")}, follow_redirects=False)
    assert r.status_code == 303 and "?report=" in r.headers["location"]
    page = client.get(r.headers["location"])
    link = page.text.split('id="report-link"')[0].rsplit('href="', 1)[1].split('"')[0]
    report = client.get(link.replace("&amp;", "&"))
    assert report.status_code == 200
    assert report.text.splitlines()[0] == "row,column,value,reason"
    assert len(report.text.splitlines()) == 5  # rows 3, 4, 5 and 6
    session.refresh(row)
    assert row.overrides == {}
    r = client.post(f"/sites/scenarios/{row.id}/choose",
                    data={"csrf_token": token, "fips": "53077"}, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()  # the page wrote through its own session
    chosen = service.chosen_result(session=session, region_id=_region(session),
                                   scenario_id=row.id)
    assert chosen is not None and chosen["name"] == "Yakima County"
    assert chosen["savings_usd"] > 0 and chosen["jobs_direct"] == 150
    r = client.post(f"/sites/scenarios/{row.id}/choose",
                    data={"csrf_token": token, "fips": "27053"}, follow_redirects=False)
    assert r.status_code == 303  # not a candidate: said in the flash, nothing changed
    session.refresh(row)
    assert row.chosen_fips == "53077"
    xlsx = client.get(f"/sites/scenarios/{row.id}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_the_edit_form_is_filled_in_and_saves_changes(client: TestClient,
                                                      session: Session) -> None:
    row = _scenario(session, DEMO_SCENARIO["name"])
    login(client, "admin@demo.govshare.org")
    form = client.get(f"/sites/scenarios/{row.id}/edit")
    assert form.status_code == 200
    assert "Payroll and HR specialists, 90, 68000" in form.text
    assert 'value="53033"' in form.text
    fields = {"csrf_token": csrf_from(form.text), "name": "Renamed sample center",
              "roles": "Payroll and HR specialists, 100, 68000", "baseline_fips": "53033",
              "rent_baseline_usd_ft2": "38", "kind": "state", "states": "WA, OR",
              "w_savings": "1", "w_distress": "1", "w_jobs_share": "0", "w_labor_pool": "0",
              "min_labor_force_multiple": "10", "draws": "300"}
    r = client.post(f"/sites/scenarios/{row.id}/edit", data=fields, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    saved = queries.scenario_in(session.get(SiteScenario, row.id))  # type: ignore[arg-type]
    assert saved.name == "Renamed sample center" and saved.headcount == 100
    assert saved.candidates.states == ["WA", "OR"]


def test_an_upload_past_its_limit_is_refused_before_it_is_read(
        client: TestClient, session: Session) -> None:
    row = _scenario(session, DEMO_SCENARIO["name"])
    analyst = {"X-API-Key": api_key(session, Role.regional_analyst, name="big")}
    session.commit()
    big = b"fips,rent_usd_ft2\r\n" + b"53077,18\r\n" * (service.MAX_UPLOAD_BYTES // 10 + 10)
    r = client.post(f"/api/v1/sites/scenarios/{row.id}/candidates", headers=analyst,
                    files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413
    session.refresh(row)
    assert row.overrides == {}


def test_every_exported_figure_carries_its_side_formula_and_source(
        client: TestClient, session: Session) -> None:
    import csv as csv_module

    import openpyxl

    row = _scenario(session, REFERENCE_SCENARIOS[0]["name"])  # Minnesota, 87 counties
    login(client, "analyst@demo.govshare.org")
    wide = list(csv_module.DictReader(io.StringIO(
        client.get(f"/sites/scenarios/{row.id}/export.csv").text)))
    cols = list(csv_module.DictReader(io.StringIO(
        client.get(f"/sites/scenarios/{row.id}/columns.csv").text)))
    # every column of the candidates' export is explained, none more
    assert [c["column"] for c in cols] == list(wide[0].keys())
    by = {c["column"]: c for c in cols}
    assert all(c["formula"] and c["source"] and c["side"] for c in cols)
    assert by["savings_usd"]["side"].startswith("budget")
    assert by["payroll_usd"]["side"].startswith("budget")
    for social in ("jobs_total_low", "jobs_share_unemployed_pct", "distress_score"):
        assert by[social]["side"].startswith("social") and "never added" in by[social]["side"]
    wage_source = by["weekly_wage_2022"]["source"]
    assert "Quarterly Census" in wage_source and "2022 annual average" in wage_source
    assert "Housing vacancy rate" in by["distress_score"]["formula"]  # the missing metrics
    assert "user input" in by["jobs_total_high"]["source"] and "RIMS II" in by[
        "jobs_total_high"]["source"]
    assert "not dollars" in by["score"]["formula"]
    figures = list(csv_module.DictReader(io.StringIO(
        client.get(f"/sites/scenarios/{row.id}/figures.csv").text)))
    st_louis = {f["figure"]: f for f in figures if f["fips"] == "27137"}
    assert len({f["fips"] for f in figures}) == len(wide)  # every candidate
    wage = st_louis["Wage index"]
    assert wage["value"] == f"{1087 / 1654:.3f}" and "1,087 / 1,654" in wage["formula"]
    assert "2022 annual average" in wage["source"]
    assert st_louis["Savings a year vs the baseline (budget)"]["side"].startswith("budget")
    assert st_louis["Office rent per ft2 a year"]["note"].startswith("proxy")
    assert st_louis["Probability of a top-three place"]["side"].startswith("robustness")
    analyst = {"X-API-Key": api_key(session, Role.regional_analyst, name="columns")}
    api = client.get(f"/api/v1/sites/scenarios/{row.id}/columns", headers=analyst).json()
    assert [c["column"] for c in api["items"]] == [c["column"] for c in cols]
    assert {c["column"]: c["side"] for c in api["items"]}["savings_usd"] == "budget"
    ranking = client.get(f"/api/v1/sites/scenarios/{row.id}/ranking", headers=analyst).json()
    assert set(ranking["items"][0]) == {c["column"] for c in api["items"]}
    book = openpyxl.load_workbook(io.BytesIO(
        client.get(f"/sites/scenarios/{row.id}/export.xlsx").content), read_only=True)
    assert book.sheetnames == ["Candidates", "Columns explained", "Figures explained"]
    sheet = list(book["Figures explained"].iter_rows(values_only=True))
    assert len(sheet) == len(figures) + 1


def test_the_multiplier_is_a_user_input_with_its_source(
        client: TestClient, session: Session, system: Any) -> None:
    row = service.create_scenario(
        session=session, actor=system, region_id=_region(session),
        data=ScenarioIn.model_validate({**DEMO_SCENARIO, "name": "Multiplier source",
                                        "multiplier_source": HOSTILE}))
    session.commit()
    login(client, "analyst@demo.govshare.org")
    page = client.get(f"/sites/scenarios/{row.id}")
    note = page.text.split('id="multiplier-note"')[1].split("</p>")[0]
    assert "user input" in note and "RIMS II" in note and "&lt;img src=x" in note
    assert "<img src=x" not in page.text
    trace = client.get(f"/sites/scenarios/{row.id}/counties/53077").text
    assert "source given: &lt;img src=x" in trace and "user input</span>" in trace
    form = client.get(f"/sites/scenarios/{row.id}/edit").text
    assert 'name="multiplier_source"' in form and "&lt;img src=x" in form
