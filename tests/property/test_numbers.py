"""Every number of the property registry is finite and within one plausible range, declared
once (``core.bounds`` in ``property.schemas`` and ``property.calc``) and applied by the API,
the forms and the importer; a value stored before its range existed takes no page down.

Issue 8, item 2.2: ``"electricity_kwh": 1e308`` (or ``Infinity``) through ``POST
/api/v1/assets`` was stored, and then the registry, utilization, the summary, the asset page
and its true cost answered 400 for every member (OverflowError in the true-cost sum); the
importer accepted ``1e308`` as well.
"""

from __future__ import annotations

import io
import math
import typing
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from govshare.core.bounds import Bounds, bounds_of, model_bounds, out_of_bounds
from govshare.core.errors import ValidationFailed
from govshare.core.tenancy import Principal, Role
from govshare.property import queries, service
from govshare.property.calc import AssetFacts, Parameters, checked_parameters, true_cost
from govshare.property.import_export import importer
from govshare.property.import_export.fileio import CellError
from govshare.property.import_export.presets import CONVERTERS, PRESETS
from govshare.property.models import Asset, CostParameters
from govshare.property.schemas import AssetIn, ConsolidationIn
from tests.conftest import csrf_from, login
from tests.factories.property import asset
from tests.factories.regions import api_key

NUMERIC = {name: b for name, b in model_bounds(AssetIn).items()}
ABSURD = ["1e308", "Infinity", "-Infinity", "NaN"]


def _headers(session: Session, role: Role, jid: int | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key(session, role, jid)}"}


# --------------------------------------------------------------------------- one definition


def test_every_number_of_an_asset_and_of_the_parameters_has_a_finite_range() -> None:
    numeric = {n for n, f in AssetIn.model_fields.items()
               if any(t in str(f.annotation) for t in ("float", "int"))}
    assert numeric and numeric == set(NUMERIC), sorted(numeric - set(NUMERIC))
    for name, b in NUMERIC.items():
        assert math.isfinite(b.lo) and math.isfinite(b.hi), name
    fields = Parameters.__dataclass_fields__
    numbers = {n for n, f in fields.items() if "int" in str(f.type) or "float" in str(f.type)}
    bounded = set()
    for name in numbers:
        for bad in (1e308, math.inf, math.nan):
            with pytest.raises(ValidationError):
                checked_parameters({name: bad})
        bounded.add(name)
    assert bounded == numbers and "electricity_cents_per_kwh" in bounded


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_the_importer_reads_the_same_range_as_the_api(name: str) -> None:
    """For each numeric field: the value at each end is taken by both, one step past it and
    the absurd values are refused by both."""
    b = NUMERIC[name]
    assert bounds_of(AssetIn.model_fields[name]) == b
    convert = CONVERTERS[name]
    is_int = b.lo == int(b.lo) and "int" in str(AssetIn.model_fields[name].annotation)
    step = 1 if is_int else max(abs(b.hi) * 1e-9, 1e-6)
    for ok in (b.lo, b.hi):
        assert convert(str(int(ok) if is_int else ok)) == ok
        AssetIn.model_validate({"asset_code": "x", "name": "x", "use": "office",
                                **_with(name, ok)})
    for bad in (b.hi + step, b.lo - step):
        text = str(int(bad) if is_int else bad)
        with pytest.raises(CellError):
            convert(text)
        with pytest.raises(ValidationError):
            AssetIn.model_validate({"asset_code": "x", "name": "x", "use": "office",
                                    **_with(name, bad)})
    for text in ABSURD:
        with pytest.raises(CellError):
            convert(text)


def _with(name: str, value: Any) -> dict[str, Any]:
    """A field's value with what the cross-field rules need beside it."""
    extra: dict[str, Any] = {}
    if name in ("lon", "lat"):
        extra = {"lon": 0.0, "lat": 0.0}
    if name == "annual_lease_cost_cents" and value:
        extra = {"ownership": "leased"}
    return {**extra, name: value}


def test_the_frpp_dollar_columns_read_the_money_range() -> None:
    frpp = PRESETS["frpp"].converters["repair_needs_cents"]
    assert frpp("$100,000,000,000.00") == 10**13
    with pytest.raises(CellError, match="between 0 and 100,000,000,000"):
        frpp("$100,000,000,000.01")


def test_bounds_helper() -> None:
    b = Bounds(0, 10)
    assert b.admits(0) and b.admits(10.0) and not b.admits(10.5)
    assert not any(b.admits(v) for v in (math.inf, -math.inf, math.nan, None, True, "5"))
    assert b.reason == "must be between 0 and 10"
    assert out_of_bounds(AssetIn, {"electricity_kwh": math.inf, "capacity": 5,
                                   "lat": 91.0, "name": "x"}) == ["lat", "electricity_kwh"]
    with pytest.raises(ValueError):
        Bounds(0, math.inf)


# --------------------------------------------------------------------------- the edges


@pytest.mark.parametrize("raw", ABSURD + ["2e10"])
def test_the_api_refuses_an_absurd_energy_figure_with_its_field(
        client: TestClient, session: Session, ids: dict[str, int], raw: str) -> None:
    h = {**_headers(session, Role.jurisdiction_staff, ids["city"]),
         "Content-Type": "application/json"}
    body = ('{"asset_code": "ABS-1", "name": "Annex", "use": "office", '
            f'"electricity_kwh": {raw}}}')
    r = client.post("/api/v1/assets", params={"jurisdiction_id": ids["city"]}, content=body,
                    headers=h)
    assert r.status_code == 422, r.text
    assert [e["loc"][-1] for e in r.json()["errors"]] == ["electricity_kwh"]
    assert session.scalars(sa.select(Asset).where(Asset.asset_code == "ABS-1")).first() is None


def test_the_importer_refuses_absurd_numbers_naming_row_column_and_reason(
        session: Session, ids: dict[str, int], system: Principal) -> None:
    data = ("asset_code,name,use,electricity_kwh,natural_gas_therms,propane_gallons\n"
            "E-1,Annex,office,1e308,,\n"
            "E-2,Depot,warehouse,,inf,\n"
            "E-3,Shed,other,,,nan\n")
    with pytest.raises(importer.ImportRefused) as info:
        importer.import_assets(session=session, actor=system, jurisdiction_id=ids["city"],
                               source=io.BytesIO(data.encode()))
    got = [(e.row, e.column, e.reason) for e in info.value.report]
    assert got == [(2, "electricity_kwh", "must be between 0 and 10,000,000,000"),
                   (3, "natural_gas_therms", "is not a finite number"),
                   (4, "propane_gallons", "is not a finite number")]


def test_parameters_refuse_absurd_prices_through_the_service_and_the_form(
        client: TestClient, session: Session, system: Principal) -> None:
    for value in ("1e308", "inf", "nan", "-1"):
        with pytest.raises(ValidationFailed) as info:
            service.set_parameters(session=session, actor=system, region_id=1,
                                   params={"electricity_cents_per_kwh": value})
        assert info.value.errors[0]["loc"] == ["electricity_cents_per_kwh"]
    login(client, "admin@demo.govshare.org")
    page = client.get("/property/parameters")
    r = client.post("/property/parameters", data={"electricity_cents_per_kwh": "1e308",
                                                  "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422 and "electricity_cents_per_kwh" in r.text
    assert queries.parameters(session=session, region_id=1).electricity_cents_per_kwh == 11.0


@pytest.mark.parametrize("field,value,reason", [
    ("max_km", "inf", "Farthest move (km): Input should be a finite number"),
    ("max_km", "nan", "Farthest move (km): Input should be a finite number"),
    ("travel", "1e308", "Travel cost, $ per person-km per year: Input should be less than"),
    ("max_sites", "1e400", "At most this many buildings: Input should be a valid integer"),
    ("move_cost", "inf", "Moving cost, $ per person who moves (once): Input should be a "
                         "finite number"),
    ("fitout_cost", "1e308", "Fit-out cost, $ per person a building takes in (once): Input "
                             "should be less than"),
    ("charge_pct", "-1", "annual cost per place: Input should be greater than"),
    ("keep_together", "maybe", "Keep each building&#39;s occupants together: Input should be a "
                               "valid boolean"),
    ("minutes", "1e9", "Time for the solver (minutes): Input should be"),
])
def test_the_consolidation_form_refuses_absurd_numbers(client: TestClient, field: str,
                                                       value: str, reason: str) -> None:
    login(client, "analyst@demo.govshare.org")
    params = {"use": "office", "max_km": "15", "travel": "191.36", field: value}
    r = client.get("/property/consolidation", params=params)
    assert r.status_code == 400 and reason in r.text, r.text[-2000:]
    assert set(ConsolidationIn.model_fields) == {"max_km", "max_sites", "travel", "move_cost",
                                                 "fitout_cost", "charge_pct", "keep_together",
                                                 "minutes"}


# --------------------------------------------------------------------------- stored bad rows


def _store_raw(session: Session, asset_id: int, **values: Any) -> None:
    """Write values no edge would take, as an older version of the code may have stored."""
    session.execute(sa.update(Asset).where(Asset.id == asset_id).values(**values))
    session.flush()
    session.expire_all()


def test_stored_absurd_numbers_take_no_page_down(client: TestClient, session: Session,
                                                 ids: dict[str, int]) -> None:
    inf = asset(session, ids["city"], name="Infinite annex", public_groups=["identity", "energy",
                                                                           "size", "status"])
    huge = asset(session, ids["county"], name="Huge depot", gross_floor_area_ft2=30_000)
    _store_raw(session, inf.id, electricity_kwh=math.inf, gross_floor_area_ft2=1e308)
    _store_raw(session, huge.id, natural_gas_therms=1e308, lat=1e308)
    for email in ("seattle.staff@demo.govshare.org", "kingcounty.admin@demo.govshare.org",
                  "analyst@demo.govshare.org"):
        login(client, email)
        for path in ("/property", "/property/utilization", "/property/public",
                     f"/property/public/{inf.id}"):
            r = client.get(path)
            assert r.status_code == 200, (email, path, r.status_code, r.text[-500:])
    plan = client.get("/property/consolidation?use=office")
    assert plan.status_code == 200 and "stored value out of range: lon, lat" in plan.text
    page = client.get(f"/property/assets/{inf.id}")
    assert page.status_code == 200
    assert "left out of the true cost until corrected: electricity_kwh, gross_floor_area_ft2" \
        in page.text
    h = _headers(session, Role.regional_analyst)
    for path in (f"/api/v1/assets/{inf.id}", f"/api/v1/assets/{inf.id}/true-cost",
                 "/api/v1/property/summary", "/api/v1/property/summary?by=use",
                 "/api/v1/assets?limit=1000", "/api/v1/public/assets?include_in_use=true",
                 f"/api/v1/public/assets/{inf.id}"):
        r = client.get(path, headers=h)
        assert r.status_code == 200, (path, r.text)
    read = client.get(f"/api/v1/assets/{huge.id}", headers=h).json()
    assert read["out_of_range"] == ["lon", "lat", "natural_gas_therms"]
    assert read["natural_gas_therms"] is None and read["lon"] is None
    assert read["gross_floor_area_ft2"] == 30_000
    cost = client.get(f"/api/v1/assets/{inf.id}/true-cost", headers=h).json()
    assert cost["complete"] is False and math.isfinite(cost["tco2e"])
    energy = next(c for c in cost["components"] if c["key"] == "energy")
    assert "electricity_kwh (stored value out of range, left out)" in energy["missing"]
    public = client.get(f"/api/v1/public/assets/{inf.id}").json()
    assert public["fields"]["electricity_kwh"] is None
    assert public["fields"]["gross_floor_area_ft2"] is None


def test_stored_parameters_out_of_range_give_way_to_their_defaults(
        client: TestClient, session: Session, ids: dict[str, int],
        caplog: pytest.LogCaptureFixture) -> None:
    asset(session, ids["city"], name="Priced annex")
    row = session.scalars(sa.select(CostParameters).where(CostParameters.region_id == 1)
                          ).first()
    stored = {"electricity_cents_per_kwh": 1e308, "vacant_cost_cents_per_ft2": 300}
    if row is None:
        session.add(CostParameters(region_id=1, params=stored, updated_by="test"))
    else:
        row.params = stored
    session.flush()
    p = queries.parameters(session=session, region_id=1)
    assert p.electricity_cents_per_kwh == 11.0 and p.vacant_cost_cents_per_ft2 == 300
    assert [getattr(r, "parameters", None) for r in caplog.records] == [
        ["electricity_cents_per_kwh"]]
    login(client, "analyst@demo.govshare.org")
    for path in ("/property", "/property/utilization", "/property/parameters"):
        assert client.get(path).status_code == 200, path


def test_true_cost_is_finite_at_every_upper_bound(session: Session) -> None:
    """The largest values the ranges allow, with the largest parameters, still sum to a
    finite whole number of cents: the ranges are what keep the computation finite."""
    top = {n: b.hi for n, b in NUMERIC.items()}
    facts = AssetFacts(
        status="vacant", gross_floor_area_ft2=top["gross_floor_area_ft2"],
        capacity=int(top["capacity"]), occupancy=int(top["occupancy"]),
        annual_om_cost_cents=int(top["annual_om_cost_cents"]),
        annual_lease_cost_cents=int(top["annual_lease_cost_cents"]),
        repair_needs_cents=int(top["repair_needs_cents"]),
        replacement_value_cents=int(top["replacement_value_cents"]),
        energy={f: top[f] for f in ("electricity_kwh", "natural_gas_therms",
                                    "district_steam_kbtu", "fuel_oil_gallons",
                                    "propane_gallons")},
        energy_year=int(top["energy_year"]), grid_subregion="NWPP")
    hints = typing.get_type_hints(Parameters, include_extras=True)
    hi = {name: found.hi for name, hint in hints.items()
          for info in getattr(hint, "__metadata__", ()) if (found := bounds_of(info))}
    hi["vacant_below_pct"] = 10.0  # the vacant threshold below the under-used one
    params = checked_parameters({**hi, "repair_amortization_years": 1})
    tc = true_cost(facts, params, queries.factors(), year=2026)
    assert isinstance(tc.total_cents, int) and tc.total_cents > 0
    assert math.isfinite(tc.emissions.tco2e)
