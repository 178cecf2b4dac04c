"""A large asset import refreshes the planner's statistics of the tables it filled
(``core.db.analyze``: ANALYZE on PostgreSQL, ANALYZE and PRAGMA optimize on SQLite), so a
later delete or cascade looks rows up by index instead of scanning; a small one does not."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from govshare.core import db
from govshare.core.tenancy import Principal
from govshare.property.import_export import importer


def _csv(n: int, stem: str) -> io.BytesIO:
    lines = ["asset_code,name,use"] + [f"{stem}-{i},Hall {i},office" for i in range(n)]
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def _rows_the_planner_knows(session: Session, backend: str) -> int:
    if backend == "postgresql":
        return int(session.scalar(text(
            "SELECT reltuples FROM pg_class WHERE relname = 'assets'")) or 0)
    has_stats = session.scalar(text(
        "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"))
    if not has_stats:
        return 0
    stat = session.scalar(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'assets' "
                               "ORDER BY idx IS NOT NULL LIMIT 1"))
    return int(str(stat).split()[0]) if stat else 0


def test_a_large_import_analyzes_what_it_filled(session: Session, system: Principal,
                                               ids: dict[str, int], backend: str) -> None:
    small = importer.import_assets(session=session, actor=system, jurisdiction_id=ids["city"],
                                   source=_csv(50, "SMALL"), fmt="csv", record_carbon=False)
    assert small.added == 50 and not small.analyzed
    before = _rows_the_planner_knows(session, backend)
    n = importer.ANALYZE_AFTER_ROWS + 1
    big = importer.import_assets(session=session, actor=system, jurisdiction_id=ids["city"],
                                 source=_csv(n, "BIG"), fmt="csv", record_carbon=False)
    assert big.added == n and big.analyzed
    assets = int(session.scalar(text("SELECT count(*) FROM assets")) or 0)
    known = _rows_the_planner_knows(session, backend)
    assert known > before and known == pytest.approx(assets, rel=0.05)


def test_analyze_takes_only_table_names(session: Session) -> None:
    with pytest.raises(ValueError, match="not a table name"):
        db.analyze(session, "assets; DROP TABLE assets")
