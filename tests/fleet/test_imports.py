"""Fuel-card and trip-log imports through the product's own path, on both databases: the
real City of Urbana, IL export imports as it is (its odometer typos flagged with reasons),
its gallons by product equal the file's own sums, re-imports change nothing, and bad rows
refuse the whole file with one reason per row."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govshare.core.errors import Forbidden, NotFound
from govshare.core.tenancy import Role
from govshare.fleet import importer, planning, service
from govshare.fleet.models import FuelTransaction, OdometerReading, Trip, Vehicle
from govshare.fleet.schemas import VehicleIn
from tests.factories.regions import principal

URBANA = Path(__file__).resolve().parents[1] / "data" / "urbana_fuel_card_export_2017.csv"
# what this file brought (the demo region has a synthetic fleet of its own)
URBANA_LINES = FuelTransaction.source.startswith("fuel-card import urbana_")
URBANA_VEHICLES = Vehicle.source.startswith("registered from fuel-card import urbana_")


def file_sums() -> tuple[dict[str, float], int]:
    """Gallons by the export's product description (lines in gallons), straight from the file."""
    sums: dict[str, float] = defaultdict(float)
    with URBANA.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        if r["Unit of Measure"] == "GA" and r["Product Class"] not in ("Non-Fuel", "Service"):
            sums[r["Product Description"]] += float(r["Units"])
    return sums, len(rows)


def test_the_urbana_export_imports_as_it_is(session: Session, ids: dict[str, int],
                                            system: object) -> None:
    result = importer.import_fuel(session=session, actor=system,  # type: ignore[arg-type]
                                  jurisdiction_id=ids["city"], source=URBANA)
    sums, n = file_sums()
    assert (result.rows, result.added, result.vehicles_registered) == (n, 6570, 153)
    # gallons by product: the database against the file's own sums
    got = dict(session.execute(
        select(FuelTransaction.product_label, func.sum(FuelTransaction.gallons))
        .where(FuelTransaction.jurisdiction_id == ids["city"], FuelTransaction.gallons > 0,
               URBANA_LINES).group_by(FuelTransaction.product_label)).all())
    assert set(got) == set(sums)
    for label, gallons in sums.items():
        assert got[label] == pytest.approx(gallons, abs=1e-6), label
    assert sum(sums.values()) == pytest.approx(91_939.37, abs=0.01)
    # its data-entry errors: flagged with a reason, never used for miles
    flagged = session.execute(
        select(Vehicle.unit_id, OdometerReading.miles, OdometerReading.flag)
        .join(Vehicle, Vehicle.id == OdometerReading.vehicle_id)
        .where(Vehicle.jurisdiction_id == ids["city"], ~OdometerReading.accepted,
               URBANA_VEHICLES)).all()
    assert len(flagged) == 616
    reasons = {f.split(":")[0] for _u, _m, f in flagged}
    assert reasons == {"odometer went backwards", "impossible jump",
                       "does not fit the readings around it"}
    # unit 143: 122,256 on 11/30, then 1,122,366 (a digit too many) on 12/01
    assert any(u == "143" and m == 1_122_366 and "impossible jump: 1,000,110 miles" in f
               for u, m, f in flagged)
    dates = dict(session.execute(select(FuelTransaction.source_key, FuelTransaction.flag)
                                 .where(FuelTransaction.flag.is_not(None), URBANA_LINES)).all())
    assert len(dates) == 2 and any("2021-10-26 is after its posted date" in f
                                   for f in dates.values())
    # class and year read from the description; the source says so
    v89 = session.scalars(select(Vehicle).where(Vehicle.jurisdiction_id == ids["city"],
                                                Vehicle.unit_id == "89")).one()
    assert (v89.vehicle_class, v89.model_year, v89.fuel_type) == (
        "police_interceptor", 2015, "gasoline")
    assert "read from the description" in (v89.source or "")
    assert any("Card Number ID" in note for note in result.notes)
    # again: nothing changes
    again = importer.import_fuel(session=session, actor=system,  # type: ignore[arg-type]
                                 jurisdiction_id=ids["city"], source=URBANA)
    assert (again.added, again.updated, again.unchanged, again.vehicles_registered) == (
        0, 0, 6570, 0)
    assert session.scalar(select(func.count()).select_from(FuelTransaction)
                          .where(FuelTransaction.jurisdiction_id == ids["city"],
                                 URBANA_LINES)) == 6570
    # the analyses read it: 2017 is the city's year, with miles from accepted readings
    entries, _ = planning.rightsizing(session=session, actor=system,  # type: ignore[arg-type]
                                      region_id=v89.jurisdiction_id and _region(session),
                                      jurisdiction_id=ids["city"])
    urbana = [e for e, f in entries if f.vehicle.source and "fuel-card" in f.vehicle.source]
    assert urbana and all(f.year == 2017 for e, f in entries if e in urbana)
    assert any(e.under_used for e in urbana)
    assert all(e.evidence for e in urbana)


def _region(session: Session) -> int:
    from govshare.regions import queries as rq
    return rq.require_current_region(session=session).id


HEADER = "source_key,unit_id,occurred_at,product,quantity,unit,cost,odometer\n"


def _vehicle(session: Session, system: object, jid: int, unit: str) -> Vehicle:
    return service.create_vehicle(session=session, actor=system,  # type: ignore[arg-type]
                                  jurisdiction_id=jid,
                                  data=VehicleIn(unit_id=unit, vehicle_class="sedan",
                                                 home_lon=-122.33, home_lat=47.6))


def test_bad_fuel_rows_refuse_the_file_with_a_reason_each(session: Session,
                                                          ids: dict[str, int],
                                                          system: object) -> None:
    _vehicle(session, system, ids["city"], "T-1")
    body = (HEADER +
            "a1,T-1,2024-03-01 08:00,e10,10.5,GA,35.10,1000\n"
            "a2,NOPE,2024-03-02 08:00,e10,10,GA,30,1100\n"       # unknown vehicle
            "a3,T-1,2024-03-03 08:00,diesel,-4,GA,30,1200\n"      # negative gallons
            "a4,T-1,2024-03-04 08:00,diesel,9000,GA,30,1300\n"    # absurd gallons
            "a5,T-1,2099-03-05 08:00,e10,10,GA,30,1400\n"         # future
            "a1,T-1,2024-03-06 08:00,e10,10,GA,30,1500\n"         # duplicate key
            "a7,T-1,yesterday,e10,10,GA,30,1600\n"                # not a date
            "a8,T-1,2024-03-08 08:00,jet fuel,10,GA,30,1700\n")   # unknown product
    with pytest.raises(importer.ImportRefused) as exc:
        importer.import_fuel(session=session, actor=system,  # type: ignore[arg-type]
                             jurisdiction_id=ids["city"], source=io.BytesIO(body.encode()),
                             file_name="bad.csv", preset="govshare")
    problems = {(e.row, e.column): e.reason for e in exc.value.report}
    assert "unknown vehicle" in problems[(3, "unit_id")]
    assert problems[(4, "quantity")] == "negative gallons"
    assert "not possible" in problems[(5, "quantity")]
    assert problems[(6, "occurred_at")] == "the date is in the future"
    assert "same transaction as row 2" in problems[(7, "source_key")]
    assert "not a date" in problems[(8, "occurred_at")]
    assert "is not one of" in problems[(9, "product")]
    assert session.scalar(select(func.count()).select_from(FuelTransaction)
                          .where(FuelTransaction.source_key.startswith("a"))) == 0


TRIPS = "vehicle,date,start_time,end_time,miles\n"


def test_trip_logs_import_idempotently_and_overlaps_are_refused(session: Session,
                                                                ids: dict[str, int],
                                                                system: object) -> None:
    t1 = _vehicle(session, system, ids["city"], "T-1")
    t2 = _vehicle(session, system, ids["city"], "T-2")
    good = (TRIPS + "T-1,2024-05-01,08:00,10:00,20\nT-1,2024-05-01,10:00,11:30,12.5\n"
            "T-2,2024-05-01,23:00,01:00,30\n")
    r = importer.import_trips(session=session, actor=system,  # type: ignore[arg-type]
                              jurisdiction_id=ids["city"], source=io.BytesIO(good.encode()),
                              file_name="trips.csv")
    assert (r.added, r.unchanged) == (3, 0)
    overnight = session.scalars(select(Trip).join(Vehicle).where(Vehicle.unit_id == "T-2")).one()
    assert overnight.ended_at.day == 2  # past midnight: the next day
    r2 = importer.import_trips(session=session, actor=system,  # type: ignore[arg-type]
                               jurisdiction_id=ids["city"], source=io.BytesIO(good.encode()),
                               file_name="trips.csv")
    assert (r2.added, r2.unchanged, r2.updated) == (0, 3, 0)
    bad = (TRIPS + "T-1,2024-05-01,09:00,09:30,5\n"      # overlaps a recorded trip
           "T-1,2024-05-02,08:00,09:00,5\nT-1,2024-05-02,08:30,09:30,5\n"  # overlap in file
           "T-1,2024-05-03,10:00,09:00,5\n"             # ends before it starts (no wrap)
           "T-1,2024-05-04,08:00,08:10,90\n"            # 540 mph
           "X-9,2024-05-04,08:00,09:00,5\n")            # unknown
    with pytest.raises(importer.ImportRefused) as exc:
        importer.import_trips(session=session, actor=system,  # type: ignore[arg-type]
                              jurisdiction_id=ids["city"], source=io.BytesIO(bad.encode()),
                              file_name="bad.csv")
    reasons = {(e.row, e.column): e.reason for e in exc.value.report}
    assert "a trip already recorded" in reasons[(2, "started_at")]
    assert "row 3" in reasons[(4, "started_at")]
    assert "faster than 100 mph" in reasons[(6, "miles")]
    assert "unknown vehicle" in reasons[(7, "unit_id")]
    assert session.scalar(select(func.count()).select_from(Trip)
                          .where(Trip.vehicle_id.in_([t1.id, t2.id]))) == 3


def test_imports_are_refused_to_other_members_and_vehicles_hidden(
        session: Session, ids: dict[str, int], system: object) -> None:
    v = _vehicle(session, system, ids["county"], "K-1")
    seattle_staff = principal(Role.jurisdiction_staff, ids["city"])
    with pytest.raises(Forbidden):
        importer.import_trips(session=session, actor=seattle_staff, jurisdiction_id=ids["county"],
                              source=io.BytesIO(TRIPS.encode()), file_name="t.csv")
    with pytest.raises(NotFound):
        service.transition(session=session, actor=seattle_staff, vehicle_id=v.id,
                           to_status="reserve")  # type: ignore[arg-type]
