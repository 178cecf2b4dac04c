"""The importer's bad-input corpus (tests/property/corpus, made by make_corpus.py), on both
backends: each file gets the problems its MANIFEST entry names — row as the user sees it,
column, a piece of the reason — and leaves the assets, their history and the audit log exactly
as they were. Plus a very large file, generated here, that must stream in flat memory."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from govshare.core.tabular import write_csv
from govshare.core.tenancy import Principal
from govshare.property.import_export import exporter, importer

CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST: list[dict[str, Any]] = json.loads((CORPUS / "MANIFEST.json").read_text())


def counts(session: Session) -> tuple[int, int, int]:
    return tuple(session.execute(sa.text(  # type: ignore[return-value]
        "SELECT (SELECT count(*) FROM assets), (SELECT count(*) FROM asset_status_changes), "
        "(SELECT count(*) FROM audit_events)")).one())


def test_the_corpus_is_big_enough_and_committed() -> None:
    files = {p.name for p in CORPUS.iterdir()} - {"MANIFEST.json"}
    assert len(MANIFEST) >= 30
    assert {m["file"] for m in MANIFEST} == files, "run tests/property/make_corpus.py"
    assert sum(1 for m in MANIFEST if not m["ok"]) >= 30


@pytest.mark.parametrize("case", MANIFEST, ids=[m["file"] for m in MANIFEST])
def test_corpus_file(case: dict[str, Any], session: Session, ids: dict[str, int],
                     system: Principal) -> None:
    before = counts(session)
    kwargs = dict(session=session, actor=system, jurisdiction_id=ids[case["jurisdiction"]],
                  source=CORPUS / case["file"], preset=case["preset"])
    if case["ok"]:
        result = importer.import_assets(**kwargs)  # type: ignore[arg-type]
        assert result.added == result.rows > 0
        after = counts(session)
        assert after[0] == before[0] + result.added
        assert after[2] == before[2] + 1  # one audit row for the whole import
        return
    with pytest.raises(importer.ImportRefused) as info:
        importer.import_assets(**kwargs)  # type: ignore[arg-type]
    got = list(info.value.report)
    for want in case["expect"]:
        assert any(e.row == want["row"] and e.column == want["column"]
                   and want["reason"] in e.reason for e in got), (want, got[:10])
    assert info.value.errors, "the exception carries the first problems"
    assert counts(session) == before, "a refused file must change nothing"
    rows = [r.row for r in got if r.row is not None]
    assert rows == sorted(rows), "the report is in row order"


def test_formula_injection_is_stored_as_text_and_neutralized_on_export(
        session: Session, ids: dict[str, int], system: Principal, tmp_path: Path) -> None:
    importer.import_assets(session=session, actor=system, jurisdiction_id=ids["city"],
                          source=CORPUS / "formula_injection.csv")
    names = dict(session.execute(sa.text(
        "SELECT asset_code, name FROM assets WHERE asset_code LIKE 'F-%'")).all())
    assert names["F-1"] == '=HYPERLINK("http://evil.example","x")'
    assert names["F-3"] == "@SUM(1+1)"
    assert names["F-5"] == "=already escaped"  # the escaping apostrophe is taken off
    out = tmp_path / "export.csv"
    with out.open("wb") as fh:
        exporter.export_file(session=session, actor=system, jurisdiction_ids=[ids["city"]],
                            fmt="csv", out=fh)
    exported = {r["asset_code"]: r["name"] for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert exported["F-1"] == "'" + names["F-1"]
    assert exported["F-2"].startswith("'+") and exported["F-4"] == "'-2+3"
    assert all(not v.startswith(("=", "+", "-", "@")) for v in exported.values())
    # and the neutralized file imports back unchanged
    result = importer.import_assets(session=session, actor=system, jurisdiction_id=ids["city"],
                                   source=out)
    assert result.added == result.updated == 0


def test_a_file_larger_than_its_batches_streams_in_flat_memory(
        session: Session, ids: dict[str, int], system: Principal, tmp_path: Path) -> None:
    """80,000 rows (16 batches) with one bad row near the end: the error is found (with its row
    number), nothing is written, and the import's peak Python memory stays a few MB — far
    below what holding the rows would take (~80 MB)."""
    n = 80_000
    path = tmp_path / "large.csv"
    columns = ["asset_code", "name", "use", "lon", "lat", "gross_floor_area_ft2"]
    bad_row = n - 10  # 0-based data row; the user sees it as row bad_row + 2

    def rows() -> Any:
        for i in range(n):
            area: Any = -1.0 if i == bad_row else float(1000 + i % 5000)
            yield [f"L-{i:06d}", f"Building {i}", "office", -122.33 + (i % 100) * 1e-4,
                   47.60 + (i % 97) * 1e-4, area]

    with path.open("w", encoding="utf-8", newline="") as fh:
        write_csv(columns, rows(), fh)
    assert path.stat().st_size > 4_000_000
    before = counts(session)
    tracemalloc.start()
    try:
        with pytest.raises(importer.ImportRefused) as info:
            importer.import_assets(session=session, actor=system, jurisdiction_id=ids["city"],
                                  source=path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    errors = list(info.value.report)
    assert [(e.row, e.column) for e in errors] == [(bad_row + 2, "gross_floor_area_ft2")]
    assert info.value.result.rows == n
    assert counts(session) == before
    # A batch, the hash partitions' buffers and the point index; nothing per row.
    print(f"peak traced memory {peak / 1e6:.1f} MB")
    assert peak < 15_000_000, f"peak {peak / 1e6:.1f} MB"
