"""Reads of the carbon domain, the inventory above all: set-based SQL on PostgreSQL and SQLite,
no Python loop over activity rows.

How the inventory picks factors (the same statement for every grouping):

1. ``act``: activity rows with every key a factor depends on — year, activity, detail (vehicle
   type|model year), eGRID subregion, utility — from ``carbon_rollup`` (per jurisdiction x
   boundary x year x sector x those keys, kept at write time) or, for a per-asset answer, from
   ``carbon_activity`` joined with the sources.
2. ``best``: for each distinct (year, activity, detail, subregion, utility) the best factor
   *group* of the chosen stack of factor sets: the first set that has one, and within a set a
   market-based factor for the utility (market method only), then one for the subregion, then
   one for everywhere; a set counts only for the years it covers. One group per key, so a set
   giving CO2e never adds to another set's CO2 + CH4 + N2O.
3. The factors of that group (per gas; a named detail or every detail) times the quantity times
   the gas's GWP, summed by the requested key. Keys without a group are gaps, never zeros.

Location- and market-based results are the same statement with ``method`` changed; the caller
puts them side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, select, text
from sqlalchemy.orm import Session

from govshare.carbon.calc import ACTIVITIES, BIOGENIC, Method
from govshare.carbon.models import (
    ActivityPeriod,
    ActivityTotal,
    Factor,
    FactorSet,
    Gwp,
    Measure,
    Source,
    SourceClaim,
    Target,
)

SCOPE_SQL = "CASE act.activity " + " ".join(
    f"WHEN '{a.key}' THEN '{a.scope.value}'" for a in ACTIVITIES.values()) + " END"

GROUPS = {
    "jurisdiction": ("act.jurisdiction_id",),
    "sector": ("act.jurisdiction_id", "act.sector"),
    "scope": ("act.jurisdiction_id", "act.sector", f"{SCOPE_SQL}"),
    "gas": ("act.jurisdiction_id", "act.sector", f"{SCOPE_SQL}", "ch.gas"),
    "asset": ("act.jurisdiction_id", "act.source_id"),
    "region": (),
}
GROUP_NAMES = {
    "jurisdiction": ("jurisdiction_id",),
    "sector": ("jurisdiction_id", "sector"),
    "scope": ("jurisdiction_id", "sector", "scope"),
    "gas": ("jurisdiction_id", "sector", "scope", "gas"),
    "asset": ("jurisdiction_id", "source_id"),
    "region": (),
}


def _act_sql(per_asset: bool, where: str) -> str:
    if per_asset:
        return ("SELECT s.jurisdiction_id AS jurisdiction_id, s.id AS source_id, a.year AS year, "  # noqa: S608 (constants; values are bound)
                "s.sector AS sector, a.activity AS activity, a.detail AS detail, "
                "s.subregion AS subregion, s.utility AS utility, a.quantity AS quantity "
                "FROM carbon_activity a JOIN carbon_sources s ON s.id = a.source_id "
                "JOIN jurisdictions j ON j.id = s.jurisdiction_id "
                f"WHERE s.boundary = :boundary AND j.region_id = :region_id {where}")
    return ("SELECT r.jurisdiction_id AS jurisdiction_id, 0 AS source_id, r.year AS year, "  # noqa: S608 (constants; values are bound)
            "r.sector AS sector, r.activity AS activity, r.detail AS detail, "
            "r.subregion AS subregion, r.utility AS utility, r.quantity AS quantity "
            "FROM carbon_rollup r JOIN jurisdictions j ON j.id = r.jurisdiction_id "
            f"WHERE r.boundary = :boundary AND j.region_id = :region_id {where}")


def _filters(alias: str, year: int | None, jurisdiction_ids: Sequence[int] | None,
             source_ids: Sequence[int] | None, years: tuple[int, int] | None) -> str:
    out = ""
    yc = "a.year" if alias == "s" else "r.year"
    if year is not None:
        out += f" AND {yc} = :year"
    if years is not None:
        out += f" AND {yc} BETWEEN :y0 AND :y1"
    if jurisdiction_ids is not None:
        out += f" AND {alias}.jurisdiction_id IN :jids"
    if source_ids is not None:
        out += " AND s.id IN :sids"
    return out


def _factor_match(method: Method) -> str:
    market = ("OR (f.basis IN ('market', 'any') AND k.utility <> '' AND f.match_key = k.utility)"
              if method == Method.market else "")
    return ("f.factor_set_id IN :set_ids AND f.activity = k.activity "
            "AND f.detail IN ('', k.detail) AND ("
            "(f.basis IN ('any', 'location') AND f.match_key = '') "
            "OR (f.basis IN ('any', 'location') AND k.subregion <> '' "
            "AND f.match_key = k.subregion) "
            f"{market})")


def _prio(method: Method, n_sets: int) -> str:
    """Lower wins: under the market method a utility's market factor first (in stack order),
    then, set by set, a factor for the subregion before one for everywhere."""
    rank = "CASE f.factor_set_id " + " ".join(
        f"WHEN :set{i} THEN {i * 10}" for i in range(n_sets)) + " END"
    market = ("WHEN f.match_key <> '' AND f.match_key = k.utility AND f.basis <> 'location' "
              "THEN 0 " if method == Method.market else "")
    return f"({rank} + CASE {market}WHEN f.match_key <> '' THEN 1001 ELSE 1002 END)"


def _statement(*, per_asset: bool, method: Method, n_sets: int, group: str, filters: str,
               gaps: bool = False) -> str:
    match = _factor_match(method)
    prio = _prio(method, n_sets)
    keys = ("SELECT DISTINCT year, activity, detail, subregion, utility FROM act")
    sets_ok = ("JOIN carbon_factor_sets fs ON fs.id = f.factor_set_id "
               "AND k.year BETWEEN fs.year_from AND fs.year_to")
    # MATERIALIZED: each CTE is computed once (PostgreSQL would otherwise inline ``ch`` into
    # a nested loop over ``act`` and recompute it per row); SQLite >= 3.35 takes it too.
    head = (f"WITH act AS MATERIALIZED ({_act_sql(per_asset, filters)}), "  # noqa: S608 (constants; values are bound)
            f"k AS MATERIALIZED ({keys}), "
            f"best AS MATERIALIZED (SELECT k.year, k.activity, k.detail, k.subregion, k.utility, "
            f"MIN({prio}) AS prio FROM k JOIN carbon_factors f ON {match} {sets_ok} "
            f"GROUP BY k.year, k.activity, k.detail, k.subregion, k.utility)")
    if gaps:
        return (head + " SELECT act.jurisdiction_id, act.source_id, act.year, act.activity, "  # noqa: S608 (constants; values are bound)
                "act.detail, SUM(act.quantity) AS quantity FROM act LEFT JOIN best b "
                "ON b.year = act.year AND b.activity = act.activity AND b.detail = act.detail "
                "AND b.subregion = act.subregion AND b.utility = act.utility "
                "WHERE b.prio IS NULL GROUP BY act.jurisdiction_id, act.source_id, act.year, "
                "act.activity, act.detail")
    chosen = (", ch AS MATERIALIZED (SELECT k.year, k.activity, k.detail, k.subregion, "  # noqa: S608 (constants; values are bound)
              "k.utility, f.gas, "
              "f.kg_per_unit, g.value AS gwp FROM best k JOIN carbon_factors f ON "
              f"{match} AND {prio} = k.prio "
              "JOIN carbon_gwp g ON g.gwp_set = :gwp_set AND g.gas = f.gas)")
    cols = GROUPS[group]
    names = GROUP_NAMES[group]
    select_keys = "".join(f"{c} AS {n}, " for c, n in zip(cols, names, strict=True))
    group_by = ", ".join(["act.year", *cols])
    return (head + chosen + f" SELECT {select_keys}act.year AS year, "  # noqa: S608 (constants; values are bound)
            "SUM(act.quantity * ch.kg_per_unit) / 1000.0 AS t_gas, "
            f"SUM(CASE WHEN ch.gas <> '{BIOGENIC}' THEN act.quantity * ch.kg_per_unit * ch.gwp "
            "ELSE 0 END) / 1000.0 AS t_co2e, "
            f"SUM(CASE WHEN ch.gas = '{BIOGENIC}' THEN act.quantity * ch.kg_per_unit ELSE 0 END)"
            " / 1000.0 AS t_biogenic "
            "FROM act JOIN ch ON ch.year = act.year AND ch.activity = act.activity "
            "AND ch.detail = act.detail AND ch.subregion = act.subregion "
            "AND ch.utility = act.utility "
            f"GROUP BY {group_by}")


def _params(*, region_id: int, set_ids: Sequence[int], gwp_set: str, boundary: str,
            year: int | None, years: tuple[int, int] | None,
            jurisdiction_ids: Sequence[int] | None,
            source_ids: Sequence[int] | None) -> tuple[dict[str, Any], list[Any]]:
    params: dict[str, Any] = {"region_id": region_id, "set_ids": list(set_ids),
                              "gwp_set": gwp_set, "boundary": boundary}
    binds: list[Any] = [bindparam("set_ids", expanding=True)]
    for i, sid in enumerate(set_ids):
        params[f"set{i}"] = sid
    if year is not None:
        params["year"] = year
    if years is not None:
        params["y0"], params["y1"] = years
    if jurisdiction_ids is not None:
        params["jids"] = list(jurisdiction_ids) or [-1]
        binds.append(bindparam("jids", expanding=True))
    if source_ids is not None:
        params["sids"] = list(source_ids) or [-1]
        binds.append(bindparam("sids", expanding=True))
    return params, binds


def emissions(session: Session, *, region_id: int, set_ids: Sequence[int], gwp_set: str,
              method: Method, group: str, boundary: str = "government",
              year: int | None = None, years: tuple[int, int] | None = None,
              jurisdiction_ids: Sequence[int] | None = None,
              source_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Tonnes by ``group`` (see :data:`GROUPS`) and year, under one method. ``set_ids`` is the
    stack of factor sets, first wins. Per-asset answers (``group="asset"`` or ``source_ids``)
    read ``carbon_activity``; everything else the pre-aggregated ``carbon_rollup``."""
    per_asset = group == "asset" or source_ids is not None
    if per_asset and group not in ("asset",):
        raise ValueError("per-asset filters answer by asset only")
    filters = _filters("s" if per_asset else "r", year, jurisdiction_ids, source_ids, years)
    sql = _statement(per_asset=per_asset, method=method, n_sets=len(set_ids), group=group,
                     filters=filters)
    params, binds = _params(region_id=region_id, set_ids=set_ids, gwp_set=gwp_set,
                            boundary=boundary, year=year, years=years,
                            jurisdiction_ids=jurisdiction_ids, source_ids=source_ids)
    stmt = text(sql).bindparams(*binds)
    return [dict(r._mapping) for r in session.execute(stmt, params)]


def gaps(session: Session, *, region_id: int, set_ids: Sequence[int], method: Method,
         boundary: str = "government", year: int | None = None,
         jurisdiction_ids: Sequence[int] | None = None,
         per_asset: bool = False) -> list[dict[str, Any]]:
    """Activity that no factor of the stack covers (activity, detail, place or year)."""
    filters = _filters("s" if per_asset else "r", year, jurisdiction_ids, None, None)
    sql = _statement(per_asset=per_asset, method=method, n_sets=len(set_ids), group="region",
                     filters=filters, gaps=True)
    params, binds = _params(region_id=region_id, set_ids=set_ids, gwp_set="", boundary=boundary,
                            year=year, years=None, jurisdiction_ids=jurisdiction_ids,
                            source_ids=None)
    stmt = text(sql).bindparams(*binds)
    return [dict(r._mapping) for r in session.execute(stmt, params)]


def missing_gwp(session: Session, *, set_ids: Sequence[int], gwp_set: str) -> list[str]:
    """Gases of the stack's factors that the GWP set lacks (their tonnes cannot be CO2e)."""
    have = select(Gwp.gas).where(Gwp.gwp_set == gwp_set)
    stmt = (select(Factor.gas).where(Factor.factor_set_id.in_(set_ids), Factor.gas.not_in(have))
            .distinct().order_by(Factor.gas))
    return list(session.scalars(stmt))


# ------------------------------------------------------------------------ plain reads

def factor_set_by_name(session: Session, name: str) -> FactorSet | None:
    return session.scalars(select(FactorSet).where(FactorSet.name == name)).first()


def factor_sets_stmt() -> Select[Any]:
    return select(FactorSet).order_by(FactorSet.builtin.desc(), FactorSet.name, FactorSet.id)


def factors_stmt(factor_set_id: int, activity: str | None = None) -> Select[Any]:
    stmt = select(Factor).where(Factor.factor_set_id == factor_set_id)
    if activity:
        stmt = stmt.where(Factor.activity == activity)
    return stmt.order_by(Factor.activity, Factor.detail, Factor.match_key, Factor.gas,
                         Factor.id)


def factors_used(session: Session, set_ids: Sequence[int], region_id: int) -> list[Factor]:
    """Factors of the stack whose activity (and detail and place) occur in the region's data."""
    used = (select(ActivityTotal.activity, ActivityTotal.detail)
            .join(Source, Source.id == ActivityTotal.source_id).distinct().subquery())
    del region_id  # one region per installation; kept for the signature
    stmt = (select(Factor).join(used, (used.c.activity == Factor.activity)
                                & ((Factor.detail == "") | (Factor.detail == used.c.detail)))
            .where(Factor.factor_set_id.in_(set_ids))
            .distinct().order_by(Factor.factor_set_id, Factor.activity, Factor.detail,
                                 Factor.match_key, Factor.gas))
    return list(session.scalars(stmt))


def gwp_rows(session: Session, gwp_set: str) -> list[Gwp]:
    return list(session.scalars(select(Gwp).where(Gwp.gwp_set == gwp_set).order_by(Gwp.gas)))


def gwp_sets(session: Session) -> list[str]:
    return list(session.scalars(select(Gwp.gwp_set).distinct().order_by(Gwp.gwp_set)))


def sources_stmt(*, jurisdiction_ids: Sequence[int] | None, boundary: str | None = None
                 ) -> Select[Any]:
    stmt = select(Source)
    if jurisdiction_ids is not None:
        stmt = stmt.where(Source.jurisdiction_id.in_(list(jurisdiction_ids)))
    if boundary:
        stmt = stmt.where(Source.boundary == boundary)
    return stmt.order_by(Source.name, Source.id)


def source_by_key(session: Session, source_domain: str, source_key: str) -> Source | None:
    return session.scalars(select(Source).where(Source.source_domain == source_domain,
                                                Source.source_key == source_key)).first()


def source_activity(session: Session, source_id: int) -> list[ActivityTotal]:
    return list(session.scalars(select(ActivityTotal).where(ActivityTotal.source_id == source_id)
                                .order_by(ActivityTotal.year, ActivityTotal.activity)))


def source_periods(session: Session, source_id: int) -> list[ActivityPeriod]:
    return list(session.scalars(
        select(ActivityPeriod).where(ActivityPeriod.source_id == source_id)
        .order_by(ActivityPeriod.activity, ActivityPeriod.period_start, ActivityPeriod.id)))


def claims(session: Session) -> list[tuple[int, int]]:
    return [(r.source_id, r.jurisdiction_id) for r in session.scalars(select(SourceClaim))]


def years_with_data(session: Session, boundary: str = "government") -> list[int]:
    from govshare.carbon.models import Rollup
    return list(session.scalars(select(Rollup.year).where(Rollup.boundary == boundary)
                                .distinct().order_by(Rollup.year)))


def fullest_year(session: Session, boundary: str = "government",
                 jurisdiction_ids: Sequence[int] | None = None,
                 sector: str | None = None) -> int | None:
    """The year with the most recorded assets (the latest of equals): what a page shows when
    no year is asked for. Not simply the latest year: members record different sectors for
    different years (the demo's buildings are 2016, its synthetic fleet 2025), and a year
    with one small sector is not the inventory to open on."""
    from sqlalchemy import func

    from govshare.carbon.models import Rollup
    stmt = (select(Rollup.year, func.sum(Rollup.sources)).where(Rollup.boundary == boundary)
            .group_by(Rollup.year))
    if jurisdiction_ids is not None:
        stmt = stmt.where(Rollup.jurisdiction_id.in_(list(jurisdiction_ids)))
    if sector is not None:
        stmt = stmt.where(Rollup.sector == sector)
    counts = {int(y): int(n or 0) for y, n in session.execute(stmt)}
    return max(counts, key=lambda y: (counts[y], y)) if counts else None


def sectors_by_year(session: Session, jurisdiction_ids: Sequence[int] | None = None,
                    boundary: str = "government") -> dict[int, set[str]]:
    """Year -> the sectors with recorded activity (of these members)."""
    from govshare.carbon.models import Rollup
    stmt = (select(Rollup.year, Rollup.sector).where(Rollup.boundary == boundary).distinct())
    if jurisdiction_ids is not None:
        stmt = stmt.where(Rollup.jurisdiction_id.in_(list(jurisdiction_ids)))
    out: dict[int, set[str]] = {}
    for y, sector in session.execute(stmt):
        out.setdefault(int(y), set()).add(sector)
    return out


def targets(session: Session, region_id: int) -> list[Target]:
    return list(session.scalars(select(Target).where(Target.region_id == region_id)
                                .order_by(Target.jurisdiction_id, Target.target_year, Target.id)))


def measures(session: Session, jurisdiction_ids: Sequence[int] | None = None) -> list[Measure]:
    stmt = select(Measure)
    if jurisdiction_ids is not None:
        stmt = stmt.where(Measure.jurisdiction_id.in_(list(jurisdiction_ids)))
    return list(session.scalars(stmt.order_by(Measure.start_year, Measure.id)))


def source_count(session: Session, boundary: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Source)
                              .where(Source.boundary == boundary)) or 0)
