"""Demo data of the fleet: a **synthetic** fleet with a year (2025) of usage logs and fuel
cards for each demo member, generated with a fixed seed and labeled synthetic everywhere
(each vehicle's ``synthetic`` flag and source, each trip's ``synthetic`` flag, the import's
source label). Nothing here is real data.

- Vehicles: a mix of classes per member (the city's police, the county's trucks, the
  schools' vans, the port's pickups), model years 2011-2024, acquisition costs by class.
- Home sites: the member's own buildings of the property registry with a location (police
  and fire stations for police interceptors, garages and warehouses for trucks, offices for
  sedans), so that several members' vehicles park near each other downtown and pooling
  across members has something to find.
- Usage: weekday trips in working hours (some vehicles barely used, some on long days past
  an EV's range), written as a trip log and imported through the product's own importer,
  like the fuel-card lines (a fill each ~300 miles at the vehicle's fuel economy, the
  odometer running with the trips).

The real City of Urbana, IL export is the importable sample: `govshare fleet import --sample
urbana --jurisdiction ...` (it is a real other city's fleet, so the demo does not put it
under a Seattle-area member on its own).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core.tenancy import Principal
from govshare.fleet import importer, service
from govshare.fleet.schemas import VehicleIn
from govshare.property.models import Asset
from govshare.regions import queries as regions_queries

SEED = 2025
YEAR = 2025
LABEL = "synthetic demo fleet (govshare demo, seed 2025)"

# class -> (make, model, fuel, mpg, price $, home uses preferred)
KINDS = {
    "sedan": ("Ford", "Fusion Hybrid", "hybrid", 40, 28_000, ("office", "library", "other")),
    "suv": ("Ford", "Escape", "gasoline", 27, 32_000, ("office", "community_center", "other")),
    "pickup": ("Ford", "F-150", "gasoline", 19, 42_000, ("garage_maintenance", "warehouse",
                                                        "park", "other")),
    "van": ("Ford", "Transit", "gasoline", 16, 45_000, ("school", "warehouse", "other")),
    "police_interceptor": ("Ford", "Police Interceptor Utility", "gasoline", 15, 48_000,
                           ("police_station", "courthouse", "other")),
    "medium_truck": ("International", "MV607", "diesel", 9, 110_000,
                     ("garage_maintenance", "warehouse", "other")),
    "heavy_truck": ("Freightliner", "114SD", "diesel", 6, 190_000,
                    ("garage_maintenance", "warehouse", "other")),
}
# member -> {class: count}
FLEETS = {
    "City of Seattle": {"sedan": 8, "suv": 4, "pickup": 8, "van": 3, "police_interceptor": 10,
                        "medium_truck": 3, "heavy_truck": 2},
    "King County": {"sedan": 6, "suv": 3, "pickup": 6, "van": 3, "medium_truck": 2,
                    "heavy_truck": 2},
    "Seattle Public Schools": {"sedan": 3, "van": 6, "pickup": 3},
    "Port of Seattle": {"pickup": 5, "suv": 2, "heavy_truck": 1},
    "State of Washington": {"sedan": 5, "suv": 2, "pickup": 2},
}


def _homes(session: Session, jurisdiction_id: int) -> list[tuple[int, str]]:
    return [(a.id, a.use) for a in session.scalars(
        select(Asset).where(Asset.jurisdiction_id == jurisdiction_id, Asset.lon.is_not(None),
                            Asset.lat.is_not(None)).order_by(Asset.id))]


def _home_for(rnd: random.Random, homes: list[tuple[int, str]], uses: tuple[str, ...]
              ) -> int | None:
    if not homes:
        return None
    for use in uses:
        fitting = [a for a, u in homes if u == use]
        if fitting:
            return rnd.choice(fitting[:3])
    return rnd.choice(homes[:5])[0]


def _trips(rnd: random.Random, cls: str, intensity: float, long_days: bool
           ) -> list[tuple[datetime, datetime, float]]:
    out = []
    day = date(YEAR, 1, 1)
    while day.year == YEAR:
        if day.weekday() < 5 and rnd.random() < intensity:
            n = rnd.randint(1, 3)
            t = datetime(day.year, day.month, day.day, rnd.randint(6, 9), rnd.choice((0, 15,
                                                                                     30, 45)))
            for _ in range(n):
                hours = rnd.uniform(0.5, 3.0) if not long_days else rnd.uniform(3.0, 5.0)
                speed = rnd.uniform(12, 25) if cls != "heavy_truck" else rnd.uniform(8, 15)
                end = t + timedelta(minutes=round(hours * 60))
                if end.date() != day or end.hour >= 22:
                    break
                out.append((t, end, round(hours * speed * (1.8 if long_days else 1), 1)))
                t = end + timedelta(minutes=rnd.randint(15, 120))
        day += timedelta(days=1)
    return out


def build(*, session: Session, actor: Principal, region_id: int,
          step: Callable[[str], None]) -> None:
    rnd = random.Random(SEED)
    members = {j.name: j.id for j in regions_queries.list_jurisdictions(session=session,
                                                                         region_id=region_id)}
    for member, fleet in FLEETS.items():
        jid = members.get(member)
        if jid is None:
            continue
        step(f"{member}: synthetic fleet")
        homes = _homes(session, jid)
        trips_csv = io.StringIO()
        trips_csv.write("vehicle,started_at,ended_at,miles\n")
        fuel_csv = io.StringIO()
        fuel_csv.write("source_key,unit_id,occurred_at,product,quantity,unit,cost,odometer\n")
        n = 0
        for cls, count in fleet.items():
            make, model, fuel, mpg, price, uses = KINDS[cls]
            for _ in range(count):
                n += 1
                unit = f"{''.join(w[0] for w in member.split() if w[0].isupper())}-{n:03d}"
                year = rnd.randint(2011, 2024)
                home = _home_for(rnd, homes, uses)
                data = VehicleIn(
                    unit_id=unit, vehicle_class=cls, make=make, model=model, model_year=year,
                    fuel_type="electric" if cls == "sedan" and rnd.random() < 0.15 else fuel,
                    description=f"{year} {make} {model} (synthetic)", home_asset_id=home,
                    home_lon=None if home else -122.335 + rnd.uniform(-0.05, 0.05),
                    home_lat=None if home else 47.61 + rnd.uniform(-0.05, 0.05),
                    acquired_on=date(year, rnd.randint(1, 12), 1),
                    acquisition_cost_cents=round(price * rnd.uniform(0.9, 1.1)) * 100)
                v = service.create_vehicle(session=session, actor=actor, jurisdiction_id=jid,
                                           data=data, source=LABEL, synthetic=True)
                roll = rnd.random()
                intensity = 0.08 if roll < 0.15 else rnd.uniform(0.45, 0.95)
                long_days = cls in ("pickup", "van", "police_interceptor") and rnd.random() < 0.2
                trips = _trips(rnd, cls, intensity, long_days)
                odometer = rnd.uniform(8_000, 90_000)
                since = 0.0
                fills = 0
                for s, e, miles in trips:
                    trips_csv.write(f"{unit},{s:%Y-%m-%d %H:%M},{e:%Y-%m-%d %H:%M},{miles}\n")
                    odometer += miles
                    since += miles
                    if since >= 300 and v.fuel_type != "electric":
                        fills += 1
                        gallons = round(since / mpg * rnd.uniform(0.95, 1.05), 2)
                        product = "b2" if fuel == "diesel" else "e10"
                        price_gal = 3.9 if fuel == "diesel" else 3.4
                        fuel_csv.write(f"DEMO-{unit}-{fills},{unit},{e:%Y-%m-%d %H:%M},"
                                       f"{product},{gallons},GA,{gallons * price_gal:.2f},"
                                       f"{odometer:.0f}\n")
                        since = 0.0
        importer.import_trips(session=session, actor=actor, jurisdiction_id=jid,
                              source=io.BytesIO(trips_csv.getvalue().encode()),
                              file_name=f"synthetic-trips-{YEAR}.csv", synthetic=True,
                              source_label=LABEL)
        importer.import_fuel(session=session, actor=actor, jurisdiction_id=jid,
                             source=io.BytesIO(fuel_csv.getvalue().encode()),
                             file_name=f"synthetic-fuel-{YEAR}.csv", preset="govshare",
                             source_label=LABEL)
