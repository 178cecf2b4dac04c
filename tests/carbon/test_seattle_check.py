"""The external check of issue 10: Seattle's 2016 benchmarking file, imported whole through
govshare's own import path, gives every building's published TotalGHGEmissions to within
0.01 t CO2e under Seattle's factors (a market-based factor set), computed by the inventory."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govshare.carbon import import_export, service
from govshare.carbon.models import ActivityPeriod, Source
from govshare.core import tabular as t
from govshare.core.tenancy import Principal

DATA = Path(__file__).resolve().parents[1] / "data" / "seattle_benchmarking_2016.csv"


def published() -> dict[str, float]:
    with DATA.open(encoding="utf-8-sig") as f:
        return {r["OSEBuildingID"]: float(r["TotalGHGEmissions"])
                for r in csv.DictReader(f) if r["TotalGHGEmissions"].strip()}


def test_every_building_matches_the_published_figure(session: Session, system: Principal,
                                                     ids: dict[str, int]) -> None:
    service.install_builtin_sets(session)
    with DATA.open("rb") as f:
        result = import_export.import_benchmarking(session, system, f, DATA.name,
                                                   jurisdiction_id=ids["city"])
    assert result.years == [2016]
    inv = service.inventory(session, system, year=2016, by="asset", boundary="community",
                            factor_set="seattle-2016")
    keys = dict(session.execute(select(Source.id, Source.source_key)
                                .where(Source.source_domain == "benchmarking")).all())
    got = {keys[r.source_id].split(":", 1)[1]: r.t_co2e_market for r in inv.rows}
    want = published()
    nonzero = {k: v for k, v in want.items() if v != 0}
    assert len(nonzero) > 3_300
    off = {k: (got.get(k), v) for k, v in nonzero.items()
           if got.get(k) is None or abs(got[k] - v) > 0.01}
    assert off == {}
    # the Bullitt Center: net electricity -33,826.8 kWh, published -0.8 t
    bullitt = [k for k, v in want.items() if v == -0.8]
    assert bullitt and all(got[k] == pytest.approx(-0.8, abs=0.01) for k in bullitt)
    # buildings published as zero have no energy, or only what zero factors give
    assert not [g for g in inv.gaps if g.activity != "*"]


def test_import_is_idempotent_and_years_add(session: Session, system: Principal,
                                            ids: dict[str, int], tmp_path: Path) -> None:
    service.install_builtin_sets(session)
    head = DATA.read_text(encoding="utf-8-sig").splitlines()[:40]
    small = tmp_path / "small.csv"
    small.write_text("\n".join(head) + "\n", encoding="utf-8")
    with small.open("rb") as f:
        first = import_export.import_benchmarking(session, system, f, small.name,
                                                  jurisdiction_id=ids["city"])
    with small.open("rb") as f:
        again = import_export.import_benchmarking(session, system, f, small.name,
                                                  jurisdiction_id=ids["city"])
    assert again.replaced_periods == first.periods
    other_year = tmp_path / "y2015.csv"
    other_year.write_text("\n".join([head[0]] + [line.replace(",2016,", ",2015,", 1)
                                                for line in head[1:]]) + "\n", encoding="utf-8")
    with other_year.open("rb") as f:
        added = import_export.import_benchmarking(session, system, f, other_year.name,
                                                  jurisdiction_id=ids["city"])
    assert added.replaced_periods == 0 and added.years == [2015]
    inv = service.inventory(session, system, by="asset", boundary="community",
                            jurisdiction_id=ids["city"], factor_set="seattle-2016")
    subset = {r.source_id for r in inv.rows if r.year == 2015}
    assert len(subset) == added.buildings
    by_year: dict[int, float] = {2015: 0.0, 2016: 0.0}
    for r in inv.rows:
        if r.source_id in subset:
            by_year[r.year] += r.t_co2e_market
    assert by_year[2015] == pytest.approx(by_year[2016])


def test_bad_rows_named_and_nothing_written(session: Session, system: Principal,
                                            ids: dict[str, int], tmp_path: Path) -> None:
    lines = DATA.read_text(encoding="utf-8-sig").splitlines()[:4]
    header = next(csv.reader([lines[0]]))
    rows = [next(csv.reader([line])) for line in lines[1:]]
    rows[0][header.index("NaturalGas(therms)")] = "-5"
    rows[1][header.index("Electricity(kWh)")] = "lots"
    rows[2][header.index("DataYear")] = ""
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    count = select(func.count()).select_from(ActivityPeriod)
    before = session.scalar(count)
    with bad.open("rb") as f, pytest.raises(t.Refused) as exc:
        import_export.import_benchmarking(session, system, f, bad.name,
                                          jurisdiction_id=ids["city"])
    found = {(e.row, e.column) for e in exc.value.report}
    assert (3, "Electricity(kWh)") in found
    assert (4, "DataYear") in found
    assert session.scalar(count) == before
