"""Write carbon's built-in factor tables (``src/govshare/carbon/data/``) from the shared copies
of the EPA GHG Emission Factors Hub 2025 workbook and its extracts (run once by a maintainer;
the product never reads ``../shared/data``).

    python scripts/extract_carbon_factors.py ../shared/data

Each output row: activity, detail, basis, match_key, gas, value, unit, source_table, note.
Values are copied as published, in the published unit; ``govshare.carbon.calc`` converts them.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import openpyxl

OUT = Path(__file__).resolve().parents[1] / "src" / "govshare" / "carbon" / "data"
LAST_MODEL_YEAR = 2022  # the Hub 2025 tables end at model year 2022
EXTEND_TO = 2035

HEADER = ["activity", "detail", "basis", "match_key", "gas", "value", "unit", "source_table",
          "note"]

STATIONARY = {  # Hub Table 1 row -> (activity, unit of the per-unit columns)
    "Natural Gas": ("natural_gas", "mmbtu"),
    "Distillate Fuel Oil No. 2": ("fuel_oil", "gallon"),
    "Propane": ("propane", "gallon"),
    "Kerosene": ("kerosene", "gallon"),
    "Residual Fuel Oil No. 6": ("residual_fuel_oil", "gallon"),
    "Wood and Wood Residuals": ("wood", "mmbtu"),
}
MOBILE_CO2 = {  # Hub Table 2
    "Motor Gasoline": "gasoline", "Diesel Fuel": "diesel", "Biodiesel (100%)": "biodiesel",
    "Ethanol (100%)": "ethanol", "Compressed Natural Gas (CNG)": "cng",
    "Liquefied Natural Gas (LNG)": "lng", "Liquefied Petroleum Gases (LPG)": "lpg",
    "Kerosene-Type Jet Fuel": "jet_fuel", "Aviation Gasoline": "aviation_gasoline",
}
BIOGENIC = {"biodiesel", "ethanol", "wood"}
# Hub Table 5 (non-road CH4 and N2O per gallon): fuel type -> activity. Residual fuel oil
# (ships and boats) is left out: Table 1 already gives residual fuel oil CH4 and N2O for every
# use, and one gas may not have both a factor for every detail and one for a named detail.
NONROAD_FUEL = (("Aviation Gasoline", "aviation_gasoline"), ("Gasoline", "gasoline"),
                ("Diesel", "diesel"), ("LPG", "lpg"), ("Jet Fuel", "jet_fuel"))
NONROAD_FOOTNOTE = re.compile(r"(Equipment)[AB]$")  # "Agricultural EquipmentA" -> note A


def years(text: object) -> list[int]:
    s = str(text).strip().replace("≤", "1960-")
    m = re.fullmatch(r"(\d{4})\s*-\s*(\d{4})", s)
    if m:
        return list(range(int(m.group(1)), int(m.group(2)) + 1))
    return [int(float(s))]


def main(shared: Path) -> None:
    wb = openpyxl.load_workbook(shared / "epa" / "ghg-emission-factors-hub-2025.xlsx",
                                read_only=True, data_only=True)
    rows = [[v for v in r if v is not None] for r in wb["Emission Factors Hub"].iter_rows(
        values_only=True)]
    out: list[list[object]] = []
    section = ""
    nonroad_type = ""
    for r in rows:
        if len(r) >= 2 and str(r[0]).startswith("Table "):
            section = str(r[0])
            continue
        if section == "Table 1" and r and r[0] in STATIONARY and len(r) == 8:
            act, unit = STATIONARY[r[0]]
            co2_gas = "CO2_biogenic" if act in BIOGENIC else "CO2"
            if unit == "mmbtu":
                vals = [(co2_gas, r[2], "kg/mmbtu"), ("CH4", r[3], "g/mmbtu"),
                        ("N2O", r[4], "g/mmbtu")]
            else:
                vals = [(co2_gas, r[5], "kg/gallon"), ("CH4", r[6], "g/gallon"),
                        ("N2O", r[7], "g/gallon")]
            for gas, v, u in vals:
                out.append([act, "", "any", "", gas, v, u, "Hub 2025 Table 1 Stationary "
                            "Combustion", r[0]])
        if section == "Table 5" and r and len(r) in (3, 4) and \
                isinstance(r[-1], int | float) and isinstance(r[-2], int | float):
            if len(r) == 4:
                nonroad_type = NONROAD_FOOTNOTE.sub(r"\1", str(r[0]).strip())
            fuel = str(r[-3]).strip()
            act = next((a for prefix, a in NONROAD_FUEL if fuel.startswith(prefix)), None)
            if act is not None:
                for gas, v in (("CH4", r[-2]), ("N2O", r[-1])):
                    out.append([act, f"{nonroad_type}|{fuel}", "any", "", gas, v, "g/gallon",
                                "Hub 2025 Table 5 Mobile Combustion CH4 and N2O for "
                                "Non-Road Vehicles", f"non-road: {nonroad_type}, {fuel}"])
        if section == "Table 2" and r and r[0] in MOBILE_CO2 and len(r) == 3:
            act = MOBILE_CO2[r[0]]
            gas = "CO2_biogenic" if act in BIOGENIC else "CO2"
            out.append([act, "", "any", "", gas, r[1], f"kg/{r[2]}",
                        "Hub 2025 Table 2 Mobile Combustion CO2", r[0]])
    # Tables 3 and 4: per vehicle-mile, extracted cell for cell into the shared CSV.
    with open(shared / "epa" / "hub2025_table3_4_onroad_ch4_n2o.csv", encoding="utf-8") as f:
        table34 = list(csv.DictReader(f))
    seen: dict[tuple[str, int], dict[str, object]] = {}
    for t in table34:
        vt, fuel, my = t["vehicle_type"].strip(), t["fuel"].strip(), t["model_year"].strip()
        label = vt if vt.lower().startswith(fuel.lower()) else f"{fuel} {vt}"
        table = "Hub 2025 Table 3 On-Road Gasoline" if fuel == "Gasoline" else \
            "Hub 2025 Table 4 On-Road Diesel and Alternative Fuel"
        span = years(my) if my.lower() != "all" else list(range(1960, EXTEND_TO + 1))
        for y in span:
            seen[(label, y)] = {"ch4": t["g_ch4_per_mile"], "n2o": t["g_n2o_per_mile"],
                                     "table": table, "my": my}
    latest: dict[str, int] = {}
    for (label, y) in seen:
        latest[label] = max(latest.get(label, 0), y)
    for (label, y), v in sorted(seen.items()):
        note = f"model year {v['my']}" if v["my"] != "all" else "all model years"
        ys = [y]
        if y == latest[label] and y < EXTEND_TO:
            ys = list(range(y, EXTEND_TO + 1))
        for yy in ys:
            n = note if yy == y else f"model year {yy} takes the latest published row " \
                f"({v['my']})"
            for gas, key in (("CH4", "ch4"), ("N2O", "n2o")):
                out.append(["vehicle_miles", f"{label}|{yy}", "any", "", gas, v[key],
                            "g/mile", v["table"], n])
    # Table 7: purchased steam (per mmBtu of steam), as transcribed in property's interim file.
    for gas, v, u in (("CO2", 66.33, "kg/mmbtu"), ("CH4", 1.25, "g/mmbtu"),
                      ("N2O", 0.125, "g/mmbtu")):
        out.append(["district_steam", "", "any", "", gas, v, u, "Hub 2025 Table 7 Steam and Heat",
                    "Steam purchased"])
    # Table 6: eGRID2023 total output rates by subregion (location-based scope 2).
    with open(shared / "epa" / "hub2025_table6_egrid2023.csv", encoding="utf-8") as f:
        for t in csv.DictReader(f):
            for gas, key in (("CO2", "co2_lb_per_mwh"), ("CH4", "ch4_lb_per_mwh"),
                             ("N2O", "n2o_lb_per_mwh")):
                out.append(["electricity", "", "location", t["subregion"], gas, t[key],
                            "lb/mwh", "Hub 2025 Table 6 Electricity (eGRID2023 total output)",
                            t["name"]])
    with open(OUT / "hub2025.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(out)
    print(f"{len(out)} factors -> {OUT / 'hub2025.csv'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data"))
