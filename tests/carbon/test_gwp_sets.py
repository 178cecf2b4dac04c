"""A user's GWP set (CSV): all rows or none with each problem naming row, field and reason,
bounded, idempotent, the built-in sets protected, and the inventory recomputed under it by
hand; its page (upload, errors) and a gas the set lacks listed as not computed."""

from __future__ import annotations

import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govshare.carbon import queries, service
from govshare.carbon.models import Gwp
from govshare.core import tabular as t
from govshare.core.errors import Conflict, Forbidden, ValidationFailed
from govshare.core.tenancy import Principal
from tests.conftest import csrf_from, login

LB = 0.45359237
NWPP = {"CO2": 631.705, "CH4": 0.054, "N2O": 0.008}  # Hub 2025 Table 6, lb/MWh
GAS = {"CO2": 53.06, "CH4": 0.001, "N2O": 0.0001}  # Hub 2025 Table 1, kg/MMBtu
AR4 = {"CO2": 1, "CH4": 25, "N2O": 298}  # IPCC AR4 WG1 Table 2.14, 100-year
AR4_CSV = b"gas,value\nCO2,1\nCH4,25\nN2O,298\n"


def _add(session: Session, who: Principal, data: bytes, name: str = "AR4", **kw: object
         ) -> list[Gwp]:
    return service.add_gwp_set(session, who, name, io.BytesIO(data), "ar4.csv",
                               source=str(kw.pop("source", "IPCC AR4 WG1 Table 2.14")),
                               **kw)  # type: ignore[arg-type]


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Gwp)) or 0)


def test_recompute_under_a_user_set(session: Session, system: Principal,
                                    ids: dict[str, int]) -> None:
    service.install_builtin_sets(session)
    rows = _add(session, system, AR4_CSV)
    assert {g.gas: g.value for g in rows} == {**AR4, "CO2e": 1, "CO2_biogenic": 0}
    service.record_activity(session, system, "test", [
        {"source_key": "hall", "jurisdiction_id": ids["city"], "name": "Hall",
         "activity": a, "quantity": q, "unit": u, "zip": "98104",
         "period_start": date(2016, 1, 1), "period_end": date(2016, 12, 31)}
        for a, q, u in (("electricity", 1000, "MWh"), ("natural_gas", 1000, "MMBtu"))])
    inv = service.inventory(session, system, year=2016, by="asset", gwp_set="AR4",
                            jurisdiction_id=ids["city"])
    (row,) = [r for r in inv.rows if r.source == "Hall"]
    co2e = (sum(v * AR4[g] for g, v in NWPP.items()) * LB
            + sum(v * AR4[g] for g, v in GAS.items()))
    assert row.t_co2e_location == pytest.approx(co2e, rel=1e-12)  # 1000 units, kg -> t
    assert "AR4" in queries.gwp_sets(session)


def test_refused_rows_name_row_field_reason(session: Session, system: Principal) -> None:
    service.install_builtin_sets(session)
    before = _count(session)
    bad = (b"gas,value,source\nCO2,1,\nCH4,twenty,\nN2O,-3,\nCH4,25,\nCO2e,2,\n"
           b",5,\nSF6,2000000,\n")
    with pytest.raises(t.Refused) as caught:
        _add(session, system, bad)
    got = [(e.row, e.column, e.reason) for e in caught.value.report.first(20)]
    assert got == [
        (3, "value", "is not a number"),
        (4, "value", "a potential must be between 0 and 1,000,000"),
        (5, "gas", "given already in row 3"),
        (6, "value", "CO2e is 1 in every set (potentials are relative to CO2)"),
        (7, "gas", got[4][2]),
        (8, "value", "a potential must be between 0 and 1,000,000"),
    ]
    assert "a gas is 1 to 40" in got[4][2]
    with pytest.raises(t.Refused) as caught:
        _add(session, system, b"gas,value\nCH4,25\n")
    assert "no CO2 row" in caught.value.report.first(1)[0].reason
    with pytest.raises(t.Refused) as caught:
        _add(session, system, b"gas,potential\nCO2,1\n")
    assert caught.value.report.first(1)[0].column == "value"
    assert _count(session) == before  # nothing was added


def test_idempotent_replace_builtin_bounded(session: Session, system: Principal,
                                            ids: dict[str, int]) -> None:
    service.install_builtin_sets(session)
    _add(session, system, AR4_CSV)
    n = _count(session)
    _add(session, system, AR4_CSV)  # the same file again: nothing changes
    assert _count(session) == n
    other = b"gas,value\nCO2,1\nCH4,25\nN2O,298\nHFC-134a,1430\n"
    with pytest.raises(Conflict):
        _add(session, system, other)
    _add(session, system, other, replace=True)
    assert {g.gas for g in queries.gwp_rows(session, "AR4")} >= {"HFC-134a"}
    with pytest.raises(Conflict, match="built-in"):
        _add(session, system, AR4_CSV, name="AR5", replace=True)
    with pytest.raises(ValidationFailed):
        _add(session, system, AR4_CSV, name="bad name!")
    with pytest.raises(ValidationFailed):
        _add(session, system, AR4_CSV, name="AR4b", source=" ")
    with pytest.raises(Exception, match="at most 1 MB"):
        _add(session, system, b"gas,value\n" + b"CO2,1\n" * 200_000, name="big")
    from govshare.core.tenancy import Role
    staff = Principal(kind="user", role=Role.jurisdiction_admin, jurisdiction_id=ids["city"],
                      region_id=system.region_id, name="x")
    with pytest.raises(Forbidden):
        _add(session, staff, AR4_CSV, name="AR4c")


def test_gwp_page_upload(client: TestClient, session: Session) -> None:
    service.install_builtin_sets(session)
    session.commit()
    login(client, "admin@demo.govshare.org")
    page = client.get("/carbon/gwp-sets")
    assert page.status_code == 200 and "AR5" in page.text and "Add a GWP set" in page.text
    token = csrf_from(page.text)
    r = client.post("/carbon/gwp-sets", data={"csrf_token": token, "name": "AR4",
                                              "source": "IPCC AR4"},
                    files={"file": ("g.csv", b"gas,value\nCO2,1\nCH4,x\n", "text/csv")})
    assert r.status_code == 422 and "is not a number" in r.text and "nothing was added" in r.text
    r = client.post("/carbon/gwp-sets", data={"csrf_token": token, "name": "no good!",
                                              "source": "IPCC AR4"},
                    files={"file": ("g.csv", AR4_CSV, "text/csv")})
    assert r.status_code == 422 and '<a href="#gwp-name"><strong>Name</strong></a>' in r.text
    r = client.post("/carbon/gwp-sets", data={"csrf_token": token, "name": "AR4",
                                              "source": "<b>IPCC</b> AR4"},
                    files={"file": ("g.csv", AR4_CSV, "text/csv")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/carbon/methodology?gwp=AR4"
    listed = client.get("/carbon/gwp-sets").text
    assert "&lt;b&gt;IPCC&lt;/b&gt; AR4" in listed and "<b>IPCC</b>" not in listed
    dash = client.get("/carbon?gwp=AR4").text
    assert '<option value="AR4" selected>' in dash
    login(client, "seattle.admin@demo.govshare.org")
    page = client.get("/carbon/gwp-sets")
    assert "Add a GWP set" not in page.text
    assert client.post("/carbon/gwp-sets", data={"csrf_token": csrf_from(page.text),
                                                  "name": "X1", "source": "s"},
                       files={"file": ("g.csv", AR4_CSV, "text/csv")}).status_code == 403
