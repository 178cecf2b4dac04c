"""Copy the demo region's public buildings out of Seattle's 2016 benchmarking file.

    .venv/bin/python scripts/extract_demo_buildings.py [SOURCE_CSV]

SOURCE_CSV defaults to ../shared/data/seattle/building_energy_benchmarking_2016.csv.

Keeps the rows :func:`govshare.cli.demo_property.owner_of` assigns to a member (the rule is
documented there and in ``src/govshare/property/data/SOURCES.md``) and only the columns the
demo import needs, values byte for byte as published. Writes
``src/govshare/property/data/seattle_public_buildings_2016.csv`` (UTF-8, no BOM).
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

from govshare.cli.demo_property import DATA_FILE, owner_of

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "seattle" / "building_energy_benchmarking_2016.csv"
COLUMNS = ["OSEBuildingID", "DataYear", "BuildingType", "PrimaryPropertyType", "PropertyName",
           "Address", "City", "State", "ZipCode", "Latitude", "Longitude", "YearBuilt",
           "PropertyGFATotal", "LargestPropertyUseType", "SteamUse(kBtu)", "Electricity(kWh)",
           "NaturalGas(therms)"]


def main(source: Path = SOURCE) -> None:
    with source.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh)
                if owner_of(r["BuildingType"], r["PropertyName"]) is not None]
    out = ROOT / "src" / "govshare" / "property" / "data" / DATA_FILE
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([r[c] for c in COLUMNS])
    counts = Counter(owner_of(r["BuildingType"], r["PropertyName"]) for r in rows)
    print(f"{len(rows)} buildings -> {out.relative_to(ROOT)}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
