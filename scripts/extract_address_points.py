"""Write the demo's address-point files (OpenAddresses CSV layout) from the shared Seattle
building energy benchmarking files, and copy the school sites (GeoJSON points, named).

    python scripts/extract_address_points.py ../shared/data

Writes ``src/govshare/geo/data/address_points_seattle_benchmarking_{2015,2016}.csv``
(LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH; ID is the benchmarking
OSEBuildingID) and ``address_points_sps_school_sites_2015_2016.geojson`` (a byte copy).
Rows without a house number, or without coordinates, are left out; "1015 & 1017 Olive
Way" gives two rows. See geo/data/SOURCES.md.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import shutil
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "govshare" / "geo" / "data"
HEADER = ["LON", "LAT", "NUMBER", "STREET", "UNIT", "CITY", "DISTRICT", "REGION", "POSTCODE",
          "ID", "HASH"]
NUMBER = re.compile(r"^\s*(\d+)(?:\s*(?:&|and)\s*(\d+)|[-/]\d+)?(?:\s+|(?=[A-Z]))(.+)$", re.I)


def split(address: str) -> list[tuple[str, str]]:
    """(number, street) of an address; "1015 & 1017 Olive Way" is two addresses, a range
    ("818-832 NE Northgate Way") is its first number."""
    m = NUMBER.match(address or "")
    if not m:
        return []
    street = " ".join(m.group(3).split())
    return [(n, street) for n in (m.group(1), m.group(2)) if n]


def write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)
    print(f"{path.name}: {len(rows)} rows")


def main(shared: Path) -> None:
    rows = []
    with (shared / "seattle" / "building_energy_benchmarking_2016.csv").open(
            encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            for parts in split(r["Address"]) if r["Latitude"] and r["Longitude"] else []:
                rows.append([r["Longitude"], r["Latitude"], parts[0], parts[1], "",
                             r["City"], "", r["State"], r["ZipCode"][:5], r["OSEBuildingID"],
                             ""])
    write(OUT / "address_points_seattle_benchmarking_2016.csv", rows)
    rows = []
    with (shared / "seattle" / "building_energy_benchmarking_2015.csv").open(
            encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            try:
                loc = ast.literal_eval(r["Location"])
                human = json.loads(loc["human_address"])
            except (ValueError, SyntaxError, KeyError):
                continue
            has_point = loc.get("latitude") and loc.get("longitude")
            for parts in split(human.get("address", "")) if has_point else []:
                rows.append([loc["longitude"], loc["latitude"], parts[0], parts[1], "",
                             human.get("city", ""), "", human.get("state", ""),
                             str(human.get("zip", ""))[:5], r["OSEBuildingID"], ""])
    write(OUT / "address_points_seattle_benchmarking_2015.csv", rows)
    shutil.copyfile(shared / "seattle" / "sps_school_site_2015_2016.geojson",
                    OUT / "address_points_sps_school_sites_2015_2016.geojson")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
