"""Build the `sites` domain's county reference data from the project's shared data.

    .venv/bin/python scripts/build_sites_counties.py [/work/shared/data]

Writes ``src/govshare/sites/data/counties.csv`` (one row per county or county-equivalent of
the 50 states and DC, Virginia's independent cities included; 2018 county set) and
``counties-10m.json.gz`` (the us-atlas topology, byte for byte, gzipped without a timestamp
so the build is reproducible). No value is changed: thousands separators and padding are
removed, percentages stay percentages. What each column holds, with its source and vintage,
is ``govshare.sites.calc.FIELDS``; the files' checksums are in ``data/SOURCES.md``.

Run it again only when the shared data change; the output is committed.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import sys
from pathlib import Path

from govshare.geo.calc import decode_topojson

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src/govshare/sites/data"

COLUMNS = (
    "fips", "state", "name", "lat", "lon", "centroid_source", "rucc_2013", "population_2018",
    "labor_force_2018", "unemployed_2018", "unemployment_rate_2016", "unemployment_rate_2017",
    "unemployment_rate_2018", "employed_2014", "employed_2018", "weekly_wage_2022",
    "establishments_2022", "median_hh_income_2018", "median_hh_income_pct_state_2018",
    "poverty_rate_2018", "pct_no_hs_2014_18", "pct_bachelor_2014_18",
)


def _rows(path: Path, skip: int) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for _ in range(skip):
            fh.readline()
        return [{k.strip(): (v or "").strip() for k, v in r.items() if k} for r in
                csv.DictReader(fh)]


def _num(text: str | None) -> str:
    """The number as written, without separators; '' when absent."""
    t = (text or "").replace(",", "").replace("$", "").strip()
    if not t:
        return ""
    float(t)  # refuse anything that is not a number
    return t


def _is_county(fips: str) -> bool:
    return (len(fips) == 5 and fips.isdigit() and not fips.endswith("000")
            and not fips.startswith("72") and not fips.endswith("999"))


def _zip_county(name: str) -> str:
    """How zipcodes.csv names a county: 'Falls Church city' -> 'Falls Church City'."""
    for tail in (" County", " Parish", " Borough"):
        if name.endswith(tail):
            return name[: -len(tail)]
    return name[:-4] + "City" if name.endswith(" city") else name


def main(shared: Path) -> None:
    c = shared / "counties"
    pop = {r["FIPS"]: r for r in _rows(c / "ers_population_estimates_2010_2018.csv", 2)
           if _is_county(r["FIPS"])}
    unemp = {r["FIPS"]: r for r in _rows(c / "ers_unemployment_medianhhincome_2007_2018.csv", 4)}
    edu = {r["FIPS Code"]: r for r in _rows(c / "ers_education_1970_2018.csv", 4)}
    pov = {r["FIPStxt"]: r for r in _rows(c / "ers_poverty_estimates_2018.csv", 4)}
    with (c / "bls_qcew_county_avg_weekly_wage_2022.csv").open(newline="") as fh:
        qcew = {r["fips"]: r for r in csv.DictReader(fh)}
    atlas_bytes = (shared / "geo/counties-10m.json").read_bytes()
    feats = decode_topojson(json.loads(atlas_bytes), "counties")
    zips: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with (shared / "geo/zipcodes.csv").open(newline="", encoding="utf-8") as fh:
        for z in csv.DictReader(fh):
            zips.setdefault((z["state"], z["county"]), []).append(
                (float(z["latitude"]), float(z["longitude"])))

    out: list[dict[str, str]] = []
    for fips in sorted(pop):
        p, u, e, v, q = (pop[fips], unemp.get(fips, {}), edu.get(fips, {}), pov.get(fips, {}),
                         qcew.get(fips, {}))
        feat = feats.get(fips)
        lat = lon = where = ""
        name = p["Area_Name"]
        if feat is not None:
            cen = feat.geometry.centroid
            if not cen.is_empty:
                lat, lon, where = f"{cen.y:.4f}", f"{cen.x:.4f}", "atlas"
        if not lat:  # Falls Church, VA: a polygon the 1:10m simplification left empty
            pts = zips.get((p["State"], _zip_county(name)), [])
            if pts:
                lat = f"{sum(a for a, _ in pts) / len(pts):.4f}"
                lon = f"{sum(b for _, b in pts) / len(pts):.4f}"
                where = "zip"
        out.append({
            "fips": fips, "state": p["State"], "name": name, "lat": lat, "lon": lon,
            "centroid_source": where,
            "rucc_2013": _num(p.get("Rural-urban_Continuum Code_2013")),
            "population_2018": _num(p.get("POP_ESTIMATE_2018")),
            "labor_force_2018": _num(u.get("Civilian_labor_force_2018")),
            "unemployed_2018": _num(u.get("Unemployed_2018")),
            "unemployment_rate_2016": _num(u.get("Unemployment_rate_2016")),
            "unemployment_rate_2017": _num(u.get("Unemployment_rate_2017")),
            "unemployment_rate_2018": _num(u.get("Unemployment_rate_2018")),
            "employed_2014": _num(u.get("Employed_2014")),
            "employed_2018": _num(u.get("Employed_2018")),
            "weekly_wage_2022": _num(q.get("annual_avg_weekly_wage_usd")),
            "establishments_2022": _num(q.get("annual_avg_establishments")),
            "median_hh_income_2018": _num(u.get("Median_Household_Income_2018")),
            "median_hh_income_pct_state_2018": _num(
                u.get("Med_HH_Income_Percent_of_State_Total_2018")),
            "poverty_rate_2018": _num(v.get("PCTPOVALL_2018")),
            "pct_no_hs_2014_18": _num(
                e.get("Percent of adults with less than a high school diploma, 2014-18")),
            "pct_bachelor_2014_18": _num(
                e.get("Percent of adults with a bachelor's degree or higher, 2014-18")),
        })
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "counties.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(out)
    with (OUT / "counties-10m.json.gz").open("wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(atlas_bytes)
    for name in ("counties.csv", "counties-10m.json.gz"):
        print(name, hashlib.sha256((OUT / name).read_bytes()).hexdigest())
    print(len(out), "counties;", sum(1 for r in out if not r["lat"]), "without a boundary;",
          sum(1 for r in out if not r["weekly_wage_2022"]), "without a QCEW wage")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data"))
