"""The shipped county data: every county, Virginia's independent cities, sources per field,
and the checksum the SOURCES note gives."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

import numpy as np

from govshare.sites import calc, queries


def test_every_county_is_shipped_with_virginias_independent_cities() -> None:
    c = queries.counties()
    assert len(c) == 3142  # 50 states and DC, 2018 county set
    assert len(set(c.state.tolist())) == 51
    va = c.name[c.state == "VA"]
    assert len(va) == 133
    assert sum(n.endswith(" city") for n in va.tolist()) == 38
    at = c.index()
    assert c.name[at["51167"]] == "Russell County"
    assert c.values["weekly_wage_2022"][at["53033"]] == 2192  # King County, WA (QCEW)
    assert c.values["weekly_wage_2022"][at["17031"]] == 1578  # Cook County, IL
    assert not np.isnan(c.values["lat"]).any()


def test_missing_wages_take_a_labelled_proxy() -> None:
    c = queries.counties()
    proxies = c.origin["weekly_wage_2022"]
    assert set(proxies) == {"02261", "15005"}
    assert all(p.startswith("proxy:") for p in proxies.values())
    row = queries.county_row("02261")
    assert row["proxies"]["weekly_wage_2022"].startswith("proxy")


def test_every_field_has_a_source_and_a_vintage() -> None:
    for k, f in calc.FIELDS.items():
        assert f.source and f.vintage and f.label, k


def test_sources_note_gives_the_shipped_files_checksums() -> None:
    data = resources.files("govshare.sites").joinpath("data")
    note = data.joinpath("SOURCES.md").read_text("utf-8")
    for name in ("counties.csv", "counties-10m.json.gz"):
        digest = hashlib.sha256(data.joinpath(name).read_bytes()).hexdigest()
        section = note.split(f"## {name}")[1]
        assert digest in re.split(r"\n## ", section)[0], name


def test_distress_scores_are_national_ranks_from_0_to_100() -> None:
    d = queries.published_distress()
    ok = d[~np.isnan(d)]
    assert ok.min() == 0 and ok.max() == 100
    assert np.isnan(d).sum() == 1  # Kalawao County, HI has no income or poverty figures
    at = queries.counties().index()
    assert d[at["51167"]] > 80 > 10 > d[at["51041"]]  # Russell vs Chesterfield
