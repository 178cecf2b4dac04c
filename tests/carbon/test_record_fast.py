"""The fast activity path (``service._Checker``: the full check once per template, the
quantity and period per row; columns; one bulk load) against the full check of every row,
and its all-or-nothing write of a big batch. The database tests run on SQLite and
PostgreSQL."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from govshare.carbon import service
from govshare.carbon.models import Source
from govshare.core import tabular as t
from govshare.core.tenancy import Principal
from govshare.regions import queries as regions_queries
from govshare.regions import service as regions_service
from govshare.regions.schemas import JurisdictionCreate, JurisdictionKind

MONTHS = [(date(y, m, 1), date.fromordinal(date(y + (m == 12), m % 12 + 1, 1).toordinal() - 1))
          for y in (2015, 2016) for m in range(1, 13)]


def _base(key: str, jid: int, activity: str = "electricity", unit: str = "kWh",
          **kw: Any) -> dict[str, Any]:
    return {"source_key": key, "jurisdiction_id": jid, "name": f"Asset {key}",
            "activity": activity, "unit": unit, "zip": "98104", **kw}


def _odd_quantity(rng: random.Random) -> Any:
    return rng.choice([12.5, 7, -3.0, -0.0, 0, True, "41.5", "x", None, math.nan, math.inf,
                       1e12, 1e12 + 1e6, -1e13, 2**70, 3.25])


def _odd_period(rng: random.Random) -> tuple[Any, Any]:
    s, e = rng.choice(MONTHS)
    return rng.choice([
        (s, e), (s, e), (e, s),  # reversed
        (datetime(s.year, s.month, 1), e),  # a midnight datetime: pydantic takes it
        (datetime(s.year, s.month, 1, 5), e),  # not midnight: refused
        (s.isoformat(), e.isoformat()), ("2016-02-30", e), (s, None),
        (date(2015, 12, 1), date(2016, 1, 31)),  # across new year
    ])


def _random_rows(rng: random.Random, jid: int, n: int) -> list[Any]:
    rows: list[Any] = []
    for i in range(n):
        k = rng.randrange(6)
        r = [_base(f"A{k}", jid), _base(f"A{k}", jid, net_metered=True),
             _base(f"G{k}", jid, "natural_gas", "therm"),
             _base(f"G{k}", jid, "natural_gas", "furlong"),  # unknown unit
             _base(f"F{k}", jid, "diesel", "gal", sector="vehicle_fleet"),
             _base(f"F{k}", jid, "coal", "gal"),  # unknown fuel
             _base(f"F{k}", jid + 1, "diesel", "gal", sector="vehicle_fleet"),  # two owners
             _base(f"E{k}", jid, "diesel", "gal", sector="equipment",
                   equipment_type="Nope")][rng.randrange(8)]
        r = dict(r)
        r["quantity"] = _odd_quantity(rng) if rng.random() < 0.4 else rng.uniform(0, 1e4)
        r["period_start"], r["period_end"] = (
            _odd_period(rng) if rng.random() < 0.4 else rng.choice(MONTHS))
        if rng.random() < 0.03:
            r["color"] = "blue"  # not a field
        if rng.random() < 0.03:
            r["jurisdiction_id"] = float(jid)  # an equal value of another type
        if rng.random() < 0.03:
            r = (i + 100, r)  # the caller's own row number
        rows.append(r)
    return rows


def _reference(rows: list[Any]) -> tuple[list[tuple[Any, ...]], list[tuple[int, float, int,
                                                                             int]]]:
    """The full check on every row, one by one (what the service did for every row before
    the fast path), then the rules across rows as ``_Checker`` states them."""
    report = t.ErrorReport()
    accepted = []
    known = set(service.subregion_names())
    for i, raw in enumerate(rows, start=1):
        number, row = raw if isinstance(raw, tuple) else (i, raw)
        checked = service._check_row(number, row, known, report)
        if checked is not None:
            r = checked[0]
            accepted.append((number, r.quantity, r.period_start.toordinal(),
                             r.period_end.toordinal()))
    return [(e.row, e.column, e.value, e.reason) for e in report], accepted


@pytest.mark.parametrize("seed", range(6))
def test_fast_checks_agree_with_the_full_check(seed: int) -> None:
    rng = random.Random(seed)
    rows = _random_rows(rng, 7, 3000)
    expected_errors, expected_rows = _reference(rows)
    report = t.ErrorReport()
    checker = service._Checker(report)
    checker.add_all(rows)
    got = [(e.row, e.column, e.value, e.reason) for e in report]
    assert got == expected_errors  # the same problems, same words, same order
    c = checker.rows
    assert list(zip(c.number, c.quantity, c.start, c.end, strict=True)) == expected_rows
    # and most rows took the fast path: far fewer templates than rows
    assert len(checker.templates) < len(rows) / 10


def test_rules_across_rows() -> None:
    rows = [dict(_base("A", 7), quantity=1.0, period_start=s, period_end=e)
            for s, e in MONTHS]
    rows.append(dict(_base("A", 7), quantity=2.0, period_start=date(2016, 3, 15),
                     period_end=date(2016, 4, 2)))  # overlaps March and April
    rows.append(dict(_base("A", 8), quantity=2.0, period_start=date(2017, 1, 1),
                     period_end=date(2017, 1, 31)))  # another owner
    report = t.ErrorReport()
    checker = service._Checker(report)
    checker.add_all(rows)
    checker.finish()
    errs = {(e.row, e.column, e.reason) for e in report}
    assert (26, "jurisdiction_id", "asset 'A' has 7 in row 1") in errs
    assert (25, "period_start", "overlaps the period of row 15 (2016-03-01 to 2016-03-31)") \
        in errs
    assert (16, "period_start", "overlaps the period of row 25 (2016-03-15 to 2016-04-02)") \
        in errs
    assert len(errs) == 3


# --------------------------------------------------------------------------- database


@pytest.fixture
def member(session: Session, system: Principal) -> int:
    service.install_builtin_sets(session)
    region = regions_queries.require_current_region(session=session)
    return regions_service.add_jurisdiction(
        session=session, actor=system, region_id=region.id,
        data=JurisdictionCreate(name="Fastville", kind=JurisdictionKind.city)).id


def _big(jid: int, assets: int) -> list[dict[str, Any]]:
    out = []
    for a in range(assets):
        for act, unit in (("electricity", "kWh"), ("natural_gas", "therm")):
            for m, (s, e) in enumerate(MONTHS):
                out.append(dict(_base(f"K{a}", jid, act, unit), quantity=100.0 + a + m,
                                period_start=s, period_end=e))
    return out


def _counts(session: Session) -> tuple[int, int, int, int]:
    return (session.scalar(select(func.count()).select_from(Source)) or 0,
            session.scalar(text("SELECT count(*) FROM carbon_activity_periods")) or 0,
            session.scalar(text("SELECT count(*) FROM carbon_activity")) or 0,
            session.scalar(text("SELECT count(*) FROM audit_events")) or 0)


def test_an_error_in_the_last_row_of_a_big_batch_writes_nothing(
        session: Session, system: Principal, member: int) -> None:
    rows = _big(member, 250)  # 12,000 rows
    rows[-1] = dict(rows[-1], quantity=-5.0)  # gas cannot be negative
    before = _counts(session)
    with pytest.raises(t.Refused) as exc:
        service.record_activity(session, system, "fast", rows)
    errors = list(exc.value.report)
    assert [(e.row, e.column, e.reason) for e in errors] == [
        (len(rows), "quantity", "natural gas cannot be negative")]
    assert _counts(session) == before


def test_a_big_batch_is_written_whole_and_again_idempotently(
        session: Session, system: Principal, member: int) -> None:
    rows = _big(member, 250)
    rows.append(dict(_base("X", member), quantity=900.0, period_start=date(2015, 12, 1),
                     period_end=date(2016, 1, 31)))  # across new year: two periods
    before = _counts(session)
    res = service.record_activity(session, system, "fast", rows)
    assert (res.sources, res.periods, res.years) == (251, len(rows) + 1, [2015, 2016])
    after = _counts(session)
    assert after[:2] == (before[0] + 251, before[1] + len(rows) + 1)
    assert after[3] == before[3] + 1  # one audit row
    # kWh -> MWh and therm -> MMBtu; the split period's days shared 31/62 and 31/62
    total = session.scalar(text(
        "SELECT SUM(a.quantity) FROM carbon_activity a JOIN carbon_sources s "
        "ON s.id = a.source_id WHERE s.source_domain = 'fast' AND a.activity = 'natural_gas'"))
    assert total == pytest.approx(sum(r["quantity"] for r in rows
                                      if r["activity"] == "natural_gas") * 0.1, rel=1e-12)
    x = session.execute(text(
        "SELECT p.year, p.quantity_in FROM carbon_activity_periods p JOIN carbon_sources s "
        "ON s.id = p.source_id WHERE s.source_key = 'X' ORDER BY p.year")).all()
    assert [(y, pytest.approx(q)) for y, q in x] == [(2015, 450.0), (2016, 450.0)]
    again = service.record_activity(session, system, "fast", rows)
    assert again.replaced_periods == len(rows) + 1
    assert _counts(session)[:3] == after[:3]


# ----------------------------------------------------------- PostgreSQL's bulk path

_PERIODS = ("SELECT s.source_key, p.activity, p.detail, p.period_start, p.period_end, p.year, "
            "p.quantity, p.quantity_in, p.unit_in FROM carbon_activity_periods p "
            "JOIN carbon_sources s ON s.id = p.source_id WHERE s.source_domain = 'fast' "
            "ORDER BY 1, 2, 3, 4")
_TOTALS = ("SELECT s.source_key, a.year, a.activity, a.detail, a.quantity FROM carbon_activity a "
           "JOIN carbon_sources s ON s.id = a.source_id WHERE s.source_domain = 'fast' "
           "ORDER BY 1, 2, 3, 4")
_CATALOG = ("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid IN "
            "('carbon_activity_periods'::regclass, 'carbon_activity'::regclass) UNION ALL "
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid IN ('carbon_activity_periods'::regclass, "
            "'carbon_activity'::regclass) ORDER BY 1")


def test_new_sources_totals_from_the_columns_equal_the_periods_sums(
        session: Session, system: Principal, member: int) -> None:
    rows = _big(member, 30)
    rows += [dict(_base("X", member, "natural_gas", "therm"), quantity=q, period_start=s,
                  period_end=e) for q, s, e in (
        (900.0, date(2014, 12, 1), date(2016, 1, 31)),  # three years, shared by days
        (5.5, date(2016, 2, 1), date(2016, 2, 29)))]
    service.record_activity(session, system, "fast", rows)  # new sources: from the columns
    got = session.execute(text(_TOTALS)).all()
    ids = list(session.scalars(text("SELECT id FROM carbon_sources WHERE source_domain = "
                                    "'fast'")))
    service.refresh_totals(session, ids)  # the periods' sums, in SQL
    want = session.execute(text(_TOTALS)).all()
    assert [r[:4] for r in got] == [r[:4] for r in want]
    assert [r[4] for r in got] == pytest.approx([r[4] for r in want], rel=1e-12)
    x = {r[1]: r[4] for r in got if r[0] == "X"}
    assert x == pytest.approx({2014: 90 * 31 / 427, 2015: 90 * 365 / 427,
                               2016: 90 * 31 / 427 + 0.55})


def test_the_periods_written_are_period_rows_exactly(
        session: Session, system: Principal, member: int) -> None:
    """PostgreSQL writes the periods by a binary COPY made in numpy, SQLite by executemany
    over ``_period_rows``: both must hold ``_period_rows``'s tuples, to the bit."""
    rows = _big(member, 6)
    rows += [dict(_base("X", member, "natural_gas", "therm"), quantity=q, period_start=s,
                  period_end=e) for q, s, e in (
        (900.1, date(2014, 12, 1), date(2016, 1, 31)),
        (5.5, date(2016, 2, 1), date(2016, 2, 29)))]
    rows.insert(3, dict(_base("N", member), net_metered=True, quantity=-12.25,
                        period_start=date(1999, 12, 31), period_end=date(2000, 1, 1)))
    service.record_activity(session, system, "fast", rows)
    checker = service._Checker(t.ErrorReport())
    checker.add_all(rows)
    sid = dict(session.execute(text(
        "SELECT source_key, id FROM carbon_sources WHERE source_domain = 'fast'")).all())
    series_sid = [0] * len(checker.series)
    for (key, _act, _det), n in checker.series.items():
        series_sid[n] = sid[key]
    got = session.execute(text(
        "SELECT p.source_id, p.activity, p.detail, p.period_start, p.period_end, p.year, "
        "p.quantity, p.quantity_in, p.unit_in FROM carbon_activity_periods p JOIN "
        "carbon_sources s ON s.id = p.source_id WHERE s.source_domain = 'fast'")).all()
    got = [(*r[:3], *(d if isinstance(d, date) else date.fromisoformat(d) for d in r[3:5]),
            *r[5:]) for r in got]  # SQLite's text dates
    assert sorted(got) == sorted(service._period_rows(checker, series_sid))


@pytest.fixture
def bulk(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The bulk path for any load; the calls of its drop, in order (PostgreSQL's: on SQLite
    it is never taken, see below)."""
    monkeypatch.setattr(service, "BULK_MIN_ROWS", 1)
    monkeypatch.setattr(service, "BULK_TABLE_SHARE", 0.0)
    calls: list[str] = []
    drop = service._BulkLoad.drop

    def spy(self: Any, session: Session) -> None:
        calls.append("drop")
        drop(self, session)

    monkeypatch.setattr(service._BulkLoad, "drop", spy)
    return calls


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_sqlite_never_takes_the_bulk_path(session: Session, system: Principal, member: int,
                                          bulk: list[str]) -> None:
    """The thresholds at nothing, SQLite still loads as always (the bulk path, PostgreSQL's,
    is tested on it alone below)."""
    res = service.record_activity(session, system, "fast", _big(member, 10))
    assert bulk == [] and res.periods > 0


PG_ONLY = pytest.mark.parametrize("db_engine", ["postgresql"], indirect=True)


@PG_ONLY
def test_the_bulk_path_writes_the_same_rows_and_keeps_the_keys(
        session: Session, system: Principal, member: int, bulk: list[str]) -> None:
    rows = _big(member, 40)
    rows.append(dict(_base("X", member), quantity=900.0, period_start=date(2015, 12, 1),
                     period_end=date(2016, 1, 31)))  # across new year: two periods
    catalog = session.execute(text(_CATALOG)).all()
    assert sum("FOREIGN KEY" in d for _n, d in catalog) == 2
    assert any("ix_carbon_periods_source" in n for n, _d in catalog)
    audits = _counts(session)[3]
    with pytest.MonkeyPatch.context() as mp:  # the ordinary path first, then rolled back
        mp.setattr(service, "BULK_MIN_ROWS", 10**12)
        nested = session.begin_nested()
        plain = service.record_activity(session, system, "fast", rows)
        plain_rows = session.execute(text(_PERIODS)).all()
        plain_totals = session.execute(text(_TOTALS)).all()
        nested.rollback()
    assert bulk == []
    res = service.record_activity(session, system, "fast", rows)
    assert bulk == ["drop"]
    assert res == plain
    assert session.execute(text(_PERIODS)).all() == plain_rows
    assert session.execute(text(_TOTALS)).all() == plain_totals
    assert session.execute(text(_CATALOG)).all() == catalog  # made again, the same
    assert _counts(session)[3] == audits + 1
    # the key is enforced again
    with pytest.raises(Exception, match="foreign key"), session.begin_nested():
        session.execute(text(
            "INSERT INTO carbon_activity_periods (source_id, activity, detail, period_start, "
            "period_end, year, quantity, quantity_in, unit_in) VALUES (-1, 'electricity', '', "
            "'2015-01-01', '2015-01-31', 2015, 1, 1000, 'kWh')"))
    # replacing through the bulk path: the same rows again, the old ones gone
    again = service.record_activity(session, system, "fast", rows)
    assert again.replaced_periods == len(rows) + 1
    assert session.execute(text(_PERIODS)).all() == plain_rows


@PG_ONLY
def test_the_bulk_path_checks_the_key_and_leaves_nothing_on_failure(
        session: Session, system: Principal, member: int, bulk: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _big(member, 10)
    catalog = session.execute(text(_CATALOG)).all()
    before = _counts(session)
    columns, chunks = service._period_columns, service._copy_chunks

    def orphan(checker: Any, series_sid: list[int]) -> Any:
        p = columns(checker, series_sid)
        p.info[0] = (-1, *p.info[0][1:])  # periods of no source: the re-added key refuses them
        return p

    def broken(p: Any) -> Iterator[bytes]:
        it = chunks(p, chunk=7)
        yield from (next(it) for _ in range(3))
        raise RuntimeError("the load broke")

    for name, gen, error in (("_period_columns", orphan, "foreign key"),
                             ("_copy_chunks", broken, "the load broke")):
        monkeypatch.setattr(service, name, gen)
        nested = session.begin_nested()
        with pytest.raises(Exception, match=error):
            service.record_activity(session, system, "fast", rows)
        nested.rollback()
        assert session.execute(text(_CATALOG)).all() == catalog
        assert _counts(session) == before
    assert bulk == ["drop", "drop"]
