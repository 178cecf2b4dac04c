"""The import page (upload, result, per-row errors, report download) and the export routes,
through the web app on both backends."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import openpyxl
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.property.models import Asset
from tests.conftest import csrf_from, login
from tests.factories.files import whole_sheet_bomb

STAFF = "seattle.staff@demo.govshare.org"


def upload(client: TestClient, data: bytes, *, jurisdiction_id: int, name: str = "assets.csv",
           preset: str = "govshare", dry_run: bool = False) -> object:
    page = client.get("/property/import")
    form = {"csrf_token": csrf_from(page.text), "jurisdiction_id": str(jurisdiction_id),
            "preset": preset}
    if dry_run:
        form["dry_run"] = "on"
    return client.post("/property/import", data=form,
                       files={"file": (name, data, "text/csv")})


def codes(session: Session, jid: int) -> set[str]:
    return set(session.scalars(sa.select(Asset.asset_code).where(Asset.jurisdiction_id == jid)))


def test_the_form_offers_only_what_the_user_manages(client: TestClient,
                                                    ids: dict[str, int]) -> None:
    assert client.get("/property/import", follow_redirects=False).status_code == 303
    login(client, STAFF)
    page = client.get("/property/import")
    assert page.status_code == 200
    options = re.findall(r'<option value="(\d+)"', page.text.split('id="preset"')[0])
    assert options == [str(ids["city"])]
    for label in ("FRPP-style", "Seattle building energy benchmarking", "govshare export"):
        assert label in page.text
    assert f"/property/export.csv?jurisdiction_id={ids['city']}" in page.text


def test_upload_imports_and_reports_the_counts(client: TestClient, session: Session,
                                               ids: dict[str, int]) -> None:
    login(client, STAFF)
    data = b"asset_code,name,use,lon,lat\nW-1,Web annex,office,-122.33,47.61\n"
    r = upload(client, data, jurisdiction_id=ids["city"], dry_run=True)
    assert r.status_code == 200 and "would be added" in r.text  # type: ignore[attr-defined]
    assert "W-1" not in codes(session, ids["city"])
    r = upload(client, data, jurisdiction_id=ids["city"])
    assert r.status_code == 200 and "Imported" in r.text  # type: ignore[attr-defined]
    assert "1 added" in r.text  # type: ignore[attr-defined]
    assert "W-1" in codes(session, ids["city"])
    r = upload(client, data, jurisdiction_id=ids["city"])
    assert "1 unchanged" in r.text  # type: ignore[attr-defined]


def test_refused_upload_shows_problems_and_the_report_downloads(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    login(client, STAFF)
    lines = ["asset_code,name,use,gross_floor_area_ft2"] + [
        f"E-{i},=Bad {i},office,-{i}" for i in range(1, 61)]
    r = upload(client, "\n".join(lines).encode(), jurisdiction_id=ids["city"], name="bad.csv")
    assert r.status_code == 422  # type: ignore[attr-defined]
    text = r.text  # type: ignore[attr-defined]
    assert "Nothing was imported" in text and "The first 50 of 60 problems" in text
    assert "must be between 0" in text and "E-1" not in codes(session, ids["city"])
    link = re.search(r'href="(/property/import/report\?token=[^"]+)"', text)
    assert link is not None
    report = client.get(link.group(1).replace("&amp;", "&"))
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert 'filename="bad-errors.csv"' in report.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[0] == ["row", "column", "value", "reason"] and len(rows) == 61
    assert rows[1][:3] == ["2", "gross_floor_area_ft2", "'-1"]  # neutralized for spreadsheets
    # bound to the uploader: another user, a forged token, no token
    other = TestClient(client.app, base_url="http://testserver")
    login(other, "seattle.admin@demo.govshare.org")
    assert other.get(link.group(1)).status_code == 404
    assert client.get("/property/import/report?token=" + "A" * 32).status_code == 404
    assert client.get("/property/import/report?token=../../etc").status_code == 404
    assert client.get("/property/import/report").status_code == 422


def test_form_problems_and_policy(client: TestClient, ids: dict[str, int]) -> None:
    login(client, STAFF)
    page = client.get("/property/import")
    token = csrf_from(page.text)
    r = client.post("/property/import", data={"csrf_token": token,
                                              "jurisdiction_id": str(ids["city"])})
    assert r.status_code == 400 and "Choose a file" in r.text
    r = upload(client, b"asset_code,name,use\nK-1,K,office\n", jurisdiction_id=ids["county"])
    assert r.status_code == 403  # type: ignore[attr-defined]
    r = client.post("/property/import", data={"jurisdiction_id": str(ids["city"])},
                    files={"file": ("a.csv", b"x", "text/csv")})
    assert r.status_code == 403  # no CSRF token
    analyst = TestClient(client.app, base_url="http://testserver")
    login(analyst, "analyst@demo.govshare.org")
    assert analyst.get("/property/import").status_code == 403


def test_exports(client: TestClient, ids: dict[str, int]) -> None:
    login(client, STAFF)
    r = client.get("/property/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="assets-own.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 85 and all(row["asset_code"] for row in rows)
    r = client.get(f"/property/export.geojson?jurisdiction_id={ids['county']}")
    assert r.headers["content-type"] == "application/geo+json"
    doc = json.loads(r.text)
    assert doc["type"] == "FeatureCollection"
    props = [f["properties"] for f in doc["features"]]
    assert 0 < len(props) < 7  # the county's published assets only (not its jail)
    assert all(p["asset_code"] is None and p["capacity"] is None for p in props
               if "utilization" not in p["public_groups"])
    r = client.get(f"/property/export.xlsx?jurisdiction_id={ids['state']}")
    ws = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    assert len(list(ws.iter_rows())) == 6
    assert client.get("/property/export.csv?jurisdiction_id=abc").status_code == 400
    assert client.get("/property/export.csv?jurisdiction_id=99999").status_code == 404


def test_an_xlsx_claiming_the_whole_sheet_is_answered_at_once(client: TestClient,
                                                              ids: dict[str, int]) -> None:
    """Issue 8, 2.1: a 1.5 KB workbook (dimension A1:XFD1048576, one row at r=1048576) kept
    one core busy for 4-5 minutes on a dry run of this page."""
    bomb = whole_sheet_bomb(["asset_code", "name", "use"],
                            {"A": "Z-1", "B": "Far", "C": "spaceport"})
    assert len(bomb) < 2_000
    login(client, STAFF)
    start = time.perf_counter()
    r = upload(client, bomb, jurisdiction_id=ids["city"], name="bomb.xlsx", dry_run=True)
    assert time.perf_counter() - start < 5
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert "1048576" in r.text and "is not one of" in r.text  # type: ignore[attr-defined]


def test_a_geojson_nested_100000_deep_is_refused_on_the_page(client: TestClient,
                                                             ids: dict[str, int]) -> None:
    """Issue 8, 2.9: RecursionError, a 500."""
    login(client, STAFF)
    deep = b'{"type": "FeatureCollection", "features": [' + b"[" * 100_000
    r = upload(client, deep, jurisdiction_id=ids["city"], name="deep.geojson", dry_run=True)
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert "nested too deeply" in r.text  # type: ignore[attr-defined]


def test_the_result_says_what_it_replaces_and_what_it_cannot_place(
        client: TestClient, ids: dict[str, int]) -> None:
    data = (Path(__file__).parents[1] / "data"
            / "seattle_benchmarking_2015_city_owned.csv").read_bytes()
    login(client, STAFF)
    r = upload(client, data, jurisdiction_id=ids["city"], name="2015.csv",
               preset="seattle-benchmarking", dry_run=True)
    assert r.status_code == 200  # type: ignore[attr-defined]
    text = r.text  # type: ignore[attr-defined]
    assert "Energy figures of another year would be replaced" in text
    assert "held 2016 figures; the import would replace them with this file&#39;s 2015" in text
    assert "OtherFuelUse(kBtu) (68 rows)" in text


def test_a_column_mapping_on_the_page_previews_the_first_rows(client: TestClient,
                                                              session: Session,
                                                              ids: dict[str, int]) -> None:
    """Chicago's file has no preset: the mapping box reads it, a dry run shows the first rows
    as they would import (field and source column), and the box keeps what was typed."""
    login(client, STAFF)
    chicago = (Path(__file__).parents[1] / "data" /
               "chicago_benchmarking_2016_cps_sample.csv").read_bytes()
    mapping = ("ID=asset_code\nProperty Name=name\nPrimary Property Type=use\n"
               "Electricity Use (kBtu)=electricity_kwh:kbtu\n")
    page = client.get("/property/import")
    assert 'name="mapping"' in page.text and "electricity_kwh:kbtu" in page.text
    form = {"csrf_token": csrf_from(page.text), "jurisdiction_id": str(ids["city"]),
            "preset": "govshare", "dry_run": "on", "mapping": mapping}
    r = client.post("/property/import", data=form,
                    files={"file": ("chicago.csv", chicago, "text/csv")})
    assert r.status_code == 200 and "40 would be added" in r.text
    first = next(csv.DictReader(io.StringIO(chicago.decode())))
    kwh = float(first["Electricity Use (kBtu)"]) / 3.412
    assert "The first 5 rows as they would be imported" in r.text
    assert f"{kwh:,.2f}" in r.text and first["Property Name"] in r.text
    assert "Electricity Use (kBtu)" in r.text.split("The first 5 rows")[1]
    assert "Property Name=name" in r.text  # the box keeps the mapping
    assert first["ID"] not in codes(session, ids["city"])
    form["mapping"] = "ID=asset_id"
    r = client.post("/property/import", data=form,
                    files={"file": ("chicago.csv", chicago, "text/csv")})
    assert r.status_code == 400
    assert "Column mapping: &#39;asset_id&#39; is not a field" in r.text
    assert "ID=asset_id" in r.text


def test_a_mapping_saved_on_the_page_is_offered_next_time(client: TestClient,
                                                         ids: dict[str, int]) -> None:
    login(client, STAFF)
    chicago = (Path(__file__).parents[1] / "data" /
               "chicago_benchmarking_2016_cps_sample.csv").read_bytes()
    page = client.get("/property/import")
    assert 'name="save_as"' in page.text and 'id="saved"' not in page.text  # none saved yet
    form = {"csrf_token": csrf_from(page.text), "jurisdiction_id": str(ids["city"]),
            "preset": "govshare", "dry_run": "on", "save_as": "Chicago <b>CPS</b>",
            "mapping": "ID=asset_code\nProperty Name=name\nPrimary Property Type=use\n"}
    r = client.post("/property/import", data=form,
                    files={"file": ("chicago.csv", chicago, "text/csv")})
    assert r.status_code == 200 and "40 would be added" in r.text
    assert "saved as &#39;Chicago &lt;b&gt;CPS&lt;/b&gt;&#39; for next time" in r.text
    assert '<option value="Chicago &lt;b&gt;CPS&lt;/b&gt;" selected>' in r.text
    again = {**form, "mapping": "", "save_as": "", "saved": "Chicago <b>CPS</b>"}
    r = client.post("/property/import", data=again,
                    files={"file": ("chicago.csv", chicago, "text/csv")})
    assert r.status_code == 200 and "40 would be added" in r.text
    assert "Property Name=name" in r.text  # the saved pairs fill the box
