"""Bulk import of assets (CSV, XLSX, GeoJSON), all or nothing.

:func:`import_assets` is the one use case behind the CLI (`govshare property import`), the
upload page and the demo data. Invariants and decisions:

- **All or nothing.** Pass 1 reads the file as a stream and validates *every* row (the
  compiled ``AssetIn`` checks of ``presets``, the jurisdiction column, the location, duplicate
  ids, the status rule below) and classifies it against the database in batches of 5,000.
  The rows it accepts go, batch by batch, into a session-private TEMPORARY staging table
  (PostgreSQL ``COPY``, SQLite ``executemany``), created inside a SAVEPOINT of the caller's
  transaction; into a jurisdiction that starts empty, PostgreSQL gets one COPY kept open
  for the whole pass, so the server parses rows while Python checks the next ones. Any
  problem -> the savepoint is rolled back (the staging table never existed) and
  :class:`ImportRefused` (``core.tabular.Refused``: a ``ValidationFailed``, 422) carries the
  full per-row report (row, column, value, reason). Otherwise pass 2 is set-based
  statements from the staging table — INSERT ... SELECT of the new assets and of their first
  status-history rows (one statement with RETURNING on PostgreSQL), UPDATE ... FROM for the
  changed ones — with no row passing through Python again. The caller (the edge) commits.
- **Flat memory.** The source is read once, row by row; only a batch is in memory, the
  staged rows are in the database's temporary space and the report on disk. The duplicate-id
  check keeps 24 bytes a row, spilled to disk in 64 hash partitions, so even that stays flat.
- **Idempotent, keyed by (jurisdiction, asset id).** A row whose id is new is added; one whose
  given fields equal the stored ones is unchanged; else updated. Only the fields the file's
  columns give are compared and set (see ``fileio``): re-importing the benchmarking file does
  not wipe the cost figures another file gave. A field the file sets that was listed in the
  asset's ``synthetic_fields`` is real data now and leaves that list (unless the file gives
  ``synthetic_fields`` itself).
- **Nothing dropped without a word.** A column no field reads is named in the result with
  the number of rows where it holds a value (``ImportResult.notes``, the audit row).
- **Energy of another year.** The registry holds one year's figures per asset; the carbon
  domain keeps them as a series by year. A row that replaces stored figures of one year with
  figures of another (or changes them without giving a year) is counted per (old year, new
  year) and said in the result, the CLI's output, the page and the audit row — dry run
  included; carbon keeps the old year beside the new one.
- **Into carbon.** When the file covers energy or what carbon keeps of an asset (name, place,
  type, floor area), the added and changed assets' energy is recorded into carbon through
  ``service.record_carbon`` inside the savepoint (each asset's year replaced, never added
  to): carbon refusing a row (electricity with no place for its eGRID subregion) refuses
  the import with the asset named.
- **Status.** New assets take the file's status (default ``in_use``) and get their first
  status-history row. For an existing asset a *different* status is refused with a row
  error: a status change follows the state machine and carries a reason, which is what the
  asset page's status transition does (the same rule as ``service.update_asset``).
- **Location.** A point must fall inside the region (some member's boundary), not
  necessarily inside the importing jurisdiction's: governments own property outside their own
  limits (a city's watershed or transfer station, a county's facilities inside its cities).
  Swapped latitude/longitude is recognized and said so. A region without boundaries skips
  the check.
- **Audit.** One ``asset.import`` row per import: file name, sha256, format, preset, counts
  and the added/updated asset ids (each list capped at 1,000).
- **Authorization.** ``property.manage`` on the importing jurisdiction (own only for
  jurisdiction staff).
"""

from __future__ import annotations

import hashlib
import io
import json
import operator
import shutil
import tempfile
from array import array
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import numpy as np
import shapely
from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    any_,
    bindparam,
    column,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govshare.core import audit, tabular
from govshare.core.db import UTCDateTime, analyze, utcnow
from govshare.core.errors import BadRequest, Conflict, ValidationFailed
from govshare.core.tabular import (
    FORMATS,
    GEOMETRY,
    ErrorReport,
    FileRefused,
    Plan,
    Preset,
    Refused,
    RowError,
    detect_format,
    make_plan,
    open_table,
    shown,
)
from govshare.core.tenancy import (
    Action,
    Principal,
    authorize,
)
from govshare.geo import queries as geo_queries
from govshare.property import service
from govshare.property.import_export.fileio import (
    ENERGY_FIELDS,
    FIELDS,
    NEW_DEFAULTS,
    SHEET,
    check_rules,
    default_pm_type,
)
from govshare.property.import_export.presets import PRESETS
from govshare.property.models import Asset, AssetStatusChange
from govshare.property.service import CARBON_FIELDS
from govshare.regions import queries as regions_queries

BATCH = 5_000
MAX_ERRORS = 100_000
AUDIT_CODES = 1_000
SHOWN_CODES = 20  # asset ids named in a sentence of the result
ASSETS = cast(Table, Asset.__table__)
HISTORY = cast(Table, AssetStatusChange.__table__)
# Rows written past which the import refreshes the planner's statistics of the tables it
# filled (core.db.analyze): below it, autovacuum's own ANALYZE catches up soon enough.
ANALYZE_AFTER_ROWS = 10_000
INSERT_COLUMNS = ("jurisdiction_id", *FIELDS, "source", "created_at", "updated_at")
JSON_FIELDS = ("public_groups", "synthetic_fields")  # lists, stored as JSON
DAY_FIELDS = ("proposal_deadline",)  # dates
RULE_FIELDS = ("lon", "lat", "ownership", "annual_lease_cost_cents")  # read by check_rules
ENERGY = ("energy_year", *ENERGY_FIELDS)
# The report's streams, each filled in row order: problems of cells (while reading),
# duplicate ids (found at the end), batch checks (location, status, rules).
CELLS, DUPLICATES, CHECKS = 0, 1, 2
# Census 1:10m boundaries are generalised: a pier or shoreline building can fall a few hundred
# meters outside them. A point this close to a member's boundary (0.01 degree: about 1.1 km
# north-south, 0.75 km east-west at Seattle's latitude) counts as inside the region.
EDGE_TOLERANCE_DEG = 0.01
Progress = Callable[[str, int, int | None], None]  # (phase, done, total)


# --------------------------------------------------------------------------------- results


@dataclass
class YearReplaced:
    """Stored energy figures of one year replaced by a file's figures of another (``to_year``
    None: the file changes the figures but gives no year)."""

    from_year: int | None
    to_year: int | None
    count: int = 0
    codes: list[str] = field(default_factory=list)  # the first AUDIT_CODES asset ids

    def sentence(self, dry_run: bool) -> str:
        verb = "would replace" if dry_run else "replaced"
        held = f"{self.from_year} figures" if self.from_year else "figures of no stated year"
        given = (f"this file's {self.to_year} figures" if self.to_year
                 else "this file's figures, which give no year (DataYear / energy_year)")
        shown_codes = ", ".join(self.codes[:SHOWN_CODES])
        more = f" and {self.count - SHOWN_CODES:,} more" if self.count > SHOWN_CODES else ""
        return (f"Energy of another year: {self.count:,} asset{'s' if self.count != 1 else ''} "
                f"held {held}; the import {verb} them with {given} (asset ids {shown_codes}"
                f"{more}).")


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    # (column, rows where it holds a value) for every column no field reads
    unplaced: list[tuple[str, int]] = field(default_factory=list)
    energy_replaced: list[YearReplaced] = field(default_factory=list)
    dry_run: bool = False
    file_name: str = ""
    sha256: str = ""
    fmt: str = ""
    preset: str = ""
    # The first rows as they import (field -> value, with the column each came from), so a
    # column mapping can be checked on the upload page before the file goes in.
    preview: list[dict[str, Any]] = field(default_factory=list)
    preview_columns: list[tuple[str, str]] = field(default_factory=list)  # (field, column)
    # the planner's statistics of the filled tables were refreshed (ANALYZE_AFTER_ROWS)
    analyzed: bool = False

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        return (f"{self.rows:,} rows: {self.added:,} {verb} added, {self.updated:,} updated, "
                f"{self.unchanged:,} unchanged")

    def notes(self) -> list[str]:
        """What the import replaced of another year and what it could not place, in words."""
        return self.energy_notes() + self.column_notes()

    def energy_notes(self) -> list[str]:
        return [r.sentence(self.dry_run) for r in self.energy_replaced]

    def column_notes(self) -> list[str]:
        out = []
        holding = [f"{c} ({n:,} row{'s' if n != 1 else ''})" for c, n in self.unplaced if n]
        empty = [c for c, n in self.unplaced if not n]
        if holding:
            out.append("Not imported, the registry has no place for them: "
                       + ", ".join(holding) + " hold values.")
        if empty:
            out.append("Columns not used (empty in every row): " + ", ".join(empty) + ".")
        return out


class ImportRefused(Refused):
    """The file has problems; nothing was imported. ``report`` holds every one of them."""

    def __init__(self, detail: str, *, report: ErrorReport, result: ImportResult) -> None:
        super().__init__(detail, report=report)
        self.result = result
        result.errors = self.preview


# ------------------------------------------------------------------------------ internals


class _Codes:
    """Asset ids seen: two independent 64-bit hashes and the row number per row (24 bytes),
    in 64 partitions by hash, each spilled to a temporary file in blocks of 2,048 rows. At
    the end each partition is sorted on its own, so memory stays flat (a block per partition
    while reading, 1/64 of the rows while checking) however long the file.

    The hashes are Python's string hash of the id and of the id with a separator appended
    (SipHash under this process's random key): two different ids collide with probability
    ~2^-128 per pair, and a suspected duplicate is confirmed against the ids' text before it
    is reported (:func:`_report_duplicates`)."""

    PARTS = 64
    BLOCK = 2_048

    def __init__(self) -> None:
        self.buffers = [array("q") for _ in range(self.PARTS)]
        self.blocks: list[list[tuple[int, int]]] = [[] for _ in range(self.PARTS)]
        self.spill: IO[bytes] | None = None
        self.count = 0

    def add(self, code: str, row: int) -> None:
        h1 = hash(code)
        part = h1 & (self.PARTS - 1)
        buf = self.buffers[part]
        buf.append(h1)
        buf.append(hash(code + "\x1f"))
        buf.append(row)
        self.count += 1
        if len(buf) >= 3 * self.BLOCK:
            self._flush(part)

    def _flush(self, part: int) -> None:
        if self.spill is None:
            self.spill = tempfile.TemporaryFile()  # noqa: SIM115 - closed in duplicates()
        self.spill.seek(0, io.SEEK_END)
        data = self.buffers[part].tobytes()
        self.blocks[part].append((self.spill.tell(), len(data)))
        self.spill.write(data)
        del self.buffers[part][:]

    def _partition(self, part: int) -> np.ndarray:
        chunks = []
        for offset, size in self.blocks[part]:
            assert self.spill is not None
            self.spill.seek(offset)
            chunks.append(np.frombuffer(self.spill.read(size), dtype=np.int64))
        chunks.append(np.frombuffer(self.buffers[part], dtype=np.int64))
        return np.concatenate(chunks).reshape(-1, 3)

    def duplicates(self) -> list[tuple[int, int]]:
        """(row, row of the first occurrence) for every repeated id, by row."""
        pairs: list[tuple[int, int]] = []
        try:
            for part in range(self.PARTS):
                h = self._partition(part)
                if len(h) < 2:
                    continue
                order = np.lexsort((h[:, 1], h[:, 0]))  # stable: equal ids keep file order
                sh = h[order]
                starts = np.ones(len(h), dtype=bool)
                starts[1:] = np.any(sh[1:, :2] != sh[:-1, :2], axis=1)
                if starts.all():
                    continue
                run = np.cumsum(starts) - 1
                first_row = sh[np.flatnonzero(starts), 2][run]
                dup = ~starts
                pairs += zip(sh[dup, 2].tolist(), first_row[dup].tolist(), strict=True)
        finally:
            if self.spill is not None:
                self.spill.close()
        return sorted(pairs)


@dataclass
class _Context:
    session: Session
    actor: Principal
    jurisdiction_id: int
    plan: Plan
    report: ErrorReport
    result: ImportResult
    stage: _Stage
    # The jurisdiction had no assets when the import began: no batch needs a lookup (a row
    # another transaction adds meanwhile makes the final INSERT fail -> Conflict).
    started_empty: bool
    locate: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    added_codes: list[str] = field(default_factory=list)
    updated_codes: list[str] = field(default_factory=list)
    energy_replaced: dict[tuple[int | None, int | None], YearReplaced] = field(
        default_factory=dict)


@contextmanager
def _opened(source: str | Path | BinaryIO) -> Iterator[tuple[BinaryIO, str]]:
    """A seekable binary stream of the source, positioned at its start."""
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise BadRequest(f"No such file: {path}")
        with path.open("rb") as fh:
            yield fh, path.name
        return
    name = getattr(source, "name", "") or ""
    if source.seekable():
        start = source.tell()
        yield source, Path(str(name)).name if isinstance(name, str) else ""
        source.seek(start)
        return
    with tempfile.TemporaryFile() as tmp:
        shutil.copyfileobj(source, tmp, 1 << 20)
        tmp.seek(0)
        yield tmp, ""


def _sha256(stream: BinaryIO) -> tuple[str, int, bytes]:
    start = stream.tell()
    digest = hashlib.sha256()
    size = 0
    head = b""
    while chunk := stream.read(1 << 20):
        if not head:
            head = chunk[:8192]
        digest.update(chunk)
        size += len(chunk)
    stream.seek(start)
    return digest.hexdigest(), size, head


def _region_locator(session: Session, region_id: int, *, eager: bool = False
                    ) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """Vectorized "is each point inside some member's boundary (or within the edge
    tolerance of one)?"; None when the region has no boundaries."""
    index = geo_queries.point_index(session=session, region_id=region_id)
    if len(index) == 0:
        return None
    near: list[Any] = []  # member boundaries, parsed only if some point misses

    def load_near() -> None:
        near.extend(shapely.from_geojson(b.geojson) for b in
                    geo_queries.boundary_rows(session=session, region_id=region_id))
        shapely.prepare(near)

    if eager:
        load_near()

    def inside(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(lons), dtype=bool)
        positions, _ids = index.locate_many(lons, lats)
        hit[positions] = True
        if not hit.all():
            if not near:
                load_near()
            miss = np.flatnonzero(~hit)
            points = shapely.points(lons[miss], lats[miss])
            for geom in near:
                hit[miss] |= shapely.dwithin(geom, points, EDGE_TOLERANCE_DEG)
        return hit
    return inside


def _jurisdiction_check(session: Session, target: Any) -> Callable[[str], str | None]:
    members = regions_queries.list_jurisdictions(session=session, region_id=target.region_id)
    lookup: dict[str, Any] = {}
    for j in members:
        lookup[str(j.id)] = j
        if j.geoid:
            lookup[j.geoid] = j
        lookup[j.name.casefold()] = j

    def check(text: str) -> str | None:
        value = text.strip()
        if not value:
            return None
        j = lookup.get(value) or lookup.get(value.casefold())
        if j is None:
            return "unknown jurisdiction: not an id, GEOID or name of a member of this region"
        if j.id != target.id:
            return f"this row belongs to {j.name}; the file is being imported into {target.name}"
        return None
    return check


def _swapped_hint(ctx: _Context, given: dict[str, Any], cells: list[Any],
                  errors: list[RowError]) -> list[RowError]:
    """Turn a latitude-out-of-range error into 'latitude and longitude look swapped' when the
    swapped point is inside the region."""
    plan = ctx.plan
    lat_col, lon_col = plan.column_of.get("lat"), plan.column_of.get("lon")
    if ctx.locate is None or lat_col is None or lon_col is None or lat_col == GEOMETRY:
        return errors
    idx = {c: i for i, c in enumerate(plan.columns)}
    try:
        lat = float(str(cells[idx[lat_col]]).replace(",", ""))
        lon = float(str(cells[idx[lon_col]]).replace(",", ""))
    except (ValueError, KeyError):
        return errors
    if not (-180 <= lat <= 180 and -90 <= lon <= 90):
        return errors
    if not ctx.locate(np.array([lat]), np.array([lon]))[0]:
        return errors
    return [RowError(e.row, e.column, e.value,
                     f"{e.reason}; {lat_col} and {lon_col} look swapped (the swapped point "
                     "is inside the region)") if e.column in (lat_col, lon_col) else e
            for e in errors]


# ------------------------------------------------------------------------------- pass one


def _code_in(session: Session) -> Any:
    """``asset_code IN (:codes)`` with the batch's ids as *one* parameter, so that neither the
    SQL text nor its plan grows with the batch as a 5,000-element IN list does: an array
    (``= ANY``) on PostgreSQL, a JSON array read by ``json_each`` on SQLite. Bind ``codes``
    with :func:`_codes_param`."""
    if session.get_bind().dialect.name == "postgresql":
        return ASSETS.c.asset_code == any_(bindparam("codes", type_=ARRAY(String)))
    return ASSETS.c.asset_code.in_(
        select(column("value", String)).select_from(
            func.json_each(bindparam("codes", type_=String())).table_valued("value")))


def _codes_param(session: Session, codes: list[str]) -> Any:
    return codes if session.get_bind().dialect.name == "postgresql" else json.dumps(codes)


def _check_locations(ctx: _Context, batch: list[tuple[int, dict[str, Any]]]
                     ) -> set[int]:
    """Rows (positions in batch) whose point is outside the region; errors reported."""
    if ctx.locate is None:
        return set()
    pos = [i for i, (_, g) in enumerate(batch) if g.get("lon") is not None
           and g.get("lat") is not None]
    if not pos:
        return set()
    lons = np.array([batch[i][1]["lon"] for i in pos], dtype=np.float64)
    lats = np.array([batch[i][1]["lat"] for i in pos], dtype=np.float64)
    inside = ctx.locate(lons, lats)
    if inside.all():
        return set()
    outside = [k for k in range(len(pos)) if not inside[k]]
    swapped = ctx.locate(lats[outside], lons[outside])
    col = ctx.plan.column_of.get("lat", "lat")
    if col != GEOMETRY:
        col = f"{ctx.plan.column_of.get('lat', 'lat')}, {ctx.plan.column_of.get('lon', 'lon')}"
    bad = set()
    for k, is_swapped in zip(outside, swapped, strict=True):
        i = pos[k]
        number, given = batch[i]
        reason = ("the point is outside the region (no member jurisdiction's boundary "
                  "contains it)")
        if is_swapped:
            reason += "; latitude and longitude look swapped"
        ctx.report.add(RowError(number, col, f"{given['lat']}, {given['lon']}", reason),
                       stream=CHECKS)
        bad.add(i)
    return bad


def _classify(ctx: _Context, batch: list[tuple[int, dict[str, Any]]]) -> None:
    """Compare a batch of valid rows with the stored assets; spool the writes."""
    bad = _check_locations(ctx, batch)
    plan, result = ctx.plan, ctx.result
    compare = sorted((plan.covered - {"asset_code"}) | {"synthetic_fields"},
                     key=FIELDS.index)
    # The file gives energy: the stored figures and their year are read to say which
    # figures of another year it replaces.
    energy = not plan.covered.isdisjoint(ENERGY)
    extra = [f for f in (*RULE_FIELDS, "status", *(ENERGY if energy else ()))
             if f not in compare]
    cols = [ASSETS.c.id, ASSETS.c.asset_code, *[ASSETS.c[f] for f in (*compare, *extra)]]
    codes = [g["asset_code"] for _, g in batch]
    names = [c.name for c in cols]
    existing = {} if ctx.started_empty else {
        r[1]: dict(zip(names, r, strict=True)) for r in ctx.session.execute(
            select(*cols).where(ASSETS.c.jurisdiction_id == ctx.jurisdiction_id,
                                _code_in(ctx.session)),
            {"codes": _codes_param(ctx.session, codes)})}
    staged: list[tuple[Any, ...]] = []
    stage_row = ctx.stage.row
    gives_synthetic = "synthetic_fields" in plan.covered
    for i, (number, given) in enumerate(batch):
        if i in bad:
            continue
        code = given["asset_code"]
        old = existing.get(code)
        if old is None:
            merged = {**NEW_DEFAULTS, **given}
        else:
            merged = {**old, **given}
            if merged["status"] != old["status"]:
                ctx.report.add(RowError(number, plan.column_of.get("status", "status"),
                                        shown(merged["status"]), (
                    f"the asset is {old['status']}; an import does not change the status of an "
                    "existing asset: use a status transition on the asset's page, which "
                    "checks the allowed moves and keeps the reason")), stream=CHECKS)
                continue
            if not gives_synthetic and old["synthetic_fields"]:
                kept = [f for f in old["synthetic_fields"] if f not in given]
                merged["synthetic_fields"] = kept
        default_pm_type(merged)
        problems = check_rules(merged)
        if problems:
            for name, reason in problems:
                column = plan.column_of.get(name, name)
                ctx.report.add(RowError(number, column, shown(merged.get(name)), reason),
                               stream=CHECKS)
            continue
        if old is None:
            staged.append(stage_row(None, merged))
            result.added += 1
            if len(ctx.added_codes) < AUDIT_CODES:
                ctx.added_codes.append(code)
        elif any(merged[f] != old[f] for f in compare if f in old):
            staged.append(stage_row(old["id"], {**NEW_DEFAULTS, **merged}))
            result.updated += 1
            if len(ctx.updated_codes) < AUDIT_CODES:
                ctx.updated_codes.append(code)
            if energy:
                _note_energy_year(ctx, code, old, merged)
        else:
            result.unchanged += 1
    if ctx.report.count == 0 and staged:
        ctx.stage.write(staged)
        if result.updated:
            ctx.stage.compare.update(compare)


def _note_energy_year(ctx: _Context, code: str, old: dict[str, Any], merged: dict[str, Any]
                      ) -> None:
    """Note an asset whose stored energy figures of one year the row replaces with figures of
    another (or changes without giving a year). Until energy is a series by year, the
    import says what it replaces instead of overwriting a year silently."""
    if all(old[f] is None for f in ENERGY_FIELDS):
        return
    old_year, new_year = old["energy_year"], merged["energy_year"]
    if old_year == new_year:
        if "energy_year" in ctx.plan.covered or all(
                merged[f] == old[f] for f in ENERGY_FIELDS):
            return  # the same year's figures corrected, or nothing of energy changed
        new_year = None  # figures changed by a file that gives no year
    key = (old_year, new_year)
    replaced = ctx.energy_replaced.get(key)
    if replaced is None:
        replaced = ctx.energy_replaced[key] = YearReplaced(old_year, new_year)
    replaced.count += 1
    if len(replaced.codes) < AUDIT_CODES:
        replaced.codes.append(code)


PREVIEW_ROWS = 5


def _validate(ctx: _Context, table: tabular.Table, check_jurisdiction: Callable[[str], str | None],
              total: int | None, progress: Progress | None) -> _Codes:
    plan, report, result = ctx.plan, ctx.report, ctx.result
    codes = _Codes()
    batch: list[tuple[int, dict[str, Any]]] = []
    jcol = plan.jurisdiction_index
    lat_col = plan.column_of.get("lat")
    for number, cells, problems in table.rows:
        if cells is None:  # the file broke off: a problem, not a row
            for e in problems:
                report.add(e)
            continue
        result.rows += 1
        given, errors = plan.validate(number, cells)
        if result.rows <= PREVIEW_ROWS:
            result.preview.append(given)
        if plan.ignored_at:
            plan.tally(cells)
        if problems:
            errors = problems + errors
        if jcol is not None:
            reason = check_jurisdiction(cells[jcol])
            if reason:
                errors.append(RowError(number, plan.columns[jcol], shown(cells[jcol]), reason))
        code = given.get("asset_code")
        if code:
            codes.add(code, number)
        if errors:
            if lat_col and any(e.column == lat_col for e in errors):
                errors = _swapped_hint(ctx, given, cells, errors)
            for e in errors:
                report.add(e)
            if report.count >= MAX_ERRORS:
                report.add(RowError(None, "", "", f"stopped reading after {MAX_ERRORS:,} "
                                    "problems; fix these and import again"))
                break
            continue
        batch.append((number, given))
        if len(batch) >= BATCH:
            _classify(ctx, batch)
            batch = []
            if progress:
                progress("validating", table.bytes_read or result.rows, total)
    if batch:
        _classify(ctx, batch)
    if progress:
        progress("validating", total or result.rows, total)
    return codes


def _report_duplicates(ctx: _Context, codes: _Codes, reopen: Callable[[], tabular.Table]
                       ) -> None:
    """Report repeated ids. Only when the hashes suspect some does this read the file a third
    time, to get the ids' text for the report and to confirm each suspect."""
    pairs = codes.duplicates()
    if not pairs:
        return
    wanted = {r for pair in pairs for r in pair}
    text: dict[int, str] = {}
    for number, cells, _ in reopen().rows:
        if cells is not None and number in wanted:
            given, _errors = ctx.plan.validate(number, cells)
            text[number] = given.get("asset_code") or ""
    column = ctx.plan.column_of.get("asset_code", "asset_code")
    for row, first in pairs[:MAX_ERRORS]:
        if text.get(row) and text.get(row) == text.get(first):
            ctx.report.add(RowError(row, column, shown(text[row]),
                                    f"duplicate asset id: the same id is on row {first}"),
                           stream=DUPLICATES)


# ------------------------------------------------------------------------------- pass two


class _Stage:
    """A session-private TEMPORARY table holding the rows pass 1 accepted, applied by pass 2
    in set-based statements. Created inside the import's SAVEPOINT: a refusal or a dry run
    rolls the savepoint back and the table never existed; nothing of the database changes.

    Filled by ``executemany`` per batch on SQLite. On PostgreSQL by COPY: per batch when
    batches also look rows up, else (``stream=True``, the jurisdiction started empty) through
    *one* COPY kept open for the whole of pass 1, so that the server parses rows on the other
    core while Python checks the next ones. :meth:`finish` ends it before any other query."""

    NAME = "govshare_import_stage"
    # Always staged (besides what the file covers): the key, and the two fields pass 1 may
    # compute for a row the file does not give (Portfolio Manager type from the use;
    # synthetic_fields losing what the file now gives for real).
    ALWAYS = frozenset({"asset_code", "pm_property_type", "synthetic_fields"})

    def __init__(self, session: Session, *, covered: frozenset[str], stream: bool) -> None:
        self.conn = session.connection()
        self.pg = self.conn.dialect.name == "postgresql"
        self.fields = [f for f in FIELDS if f in covered | self.ALWAYS]
        self.table = Table(
            self.NAME, MetaData(), Column("existing_id", Integer),
            *[Column(f, ASSETS.c[f].type) for f in self.fields], prefixes=["TEMPORARY"])
        self.table.create(self.conn)
        self.compare: set[str] = set()  # fields that some updated row changes
        dialect = self.conn.dialect
        bind = ASSETS.c.public_groups.type._cached_bind_processor(dialect)
        self._json = (json.dumps if self.pg or bind is None else bind)
        self._json_cache: dict[tuple[str, ...], Any] = {}
        self._json_fields = [f for f in JSON_FIELDS if f in self.fields]
        # Days go to SQLite as the ISO text SQLAlchemy's Date stores there (the driver's own
        # date adapter is deprecated); psycopg's COPY takes a date as it is.
        self._day_fields = [] if self.pg else [f for f in DAY_FIELDS if f in self.fields]
        self._values = operator.itemgetter(*self.fields)
        columns = ("existing_id", *self.fields)
        quote = dialect.identifier_preparer.quote
        self._names = ", ".join(quote(c) for c in columns)
        self._marks = ", ".join("?" for _ in columns)
        self._stream = stream and self.pg
        self._open: ExitStack | None = None
        self._copy: Any = None

    def _as_json(self, value: list[str]) -> Any:
        key = tuple(value)
        found = self._json_cache.get(key)
        if found is None:
            found = self._json_cache[key] = self._json(value)
        return found

    def row(self, existing_id: int | None, merged: dict[str, Any]) -> tuple[Any, ...]:
        """The staged tuple of one asset (lists already JSON text for the driver)."""
        for f in self._json_fields:
            merged[f] = self._as_json(merged[f])
        for f in self._day_fields:
            if merged[f] is not None:
                merged[f] = merged[f].isoformat()
        return (existing_id, *self._values(merged))

    def _start_copy(self) -> None:
        raw = self.conn.connection.driver_connection
        self._open = ExitStack()
        cur = self._open.enter_context(raw.cursor())  # type: ignore[union-attr]
        self._copy = self._open.enter_context(
            cur.copy(f"COPY {self.NAME} ({self._names}) FROM STDIN"))

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not self.pg:
            self.conn.exec_driver_sql(
                f"INSERT INTO {self.NAME} ({self._names}) VALUES ({self._marks})",  # noqa: S608
                rows)
            return
        if self._copy is None:
            self._start_copy()
        write_row = self._copy.write_row
        for row in rows:
            write_row(row)
        if not self._stream:
            self.finish()

    def finish(self, exc: BaseException | None = None) -> None:
        """End the open COPY, if any (aborting it when ``exc`` is given)."""
        if self._open is not None:
            stack, self._open, self._copy = self._open, None, None
            if exc is None:
                stack.close()
            else:
                stack.__exit__(type(exc), exc, exc.__traceback__)

    def apply(self, *, jurisdiction_id: int, actor: Principal, source_label: str) -> None:
        """New assets, their first status-history rows, then the updates."""
        self.finish()
        st, now = self.table, utcnow()
        new = st.c.existing_id.is_(None)
        if self.compare:
            # Built once, after the fill (a bulk sort), so that the UPDATE's join is a lookup
            # whatever order the planner picks; and temporary tables are never
            # auto-analyzed, so PostgreSQL is given the counts (without them it chose a
            # nested loop over the whole stage: minutes instead of a second).
            Index(f"{self.NAME}_existing", st.c.existing_id).create(self.conn)
            if self.pg:
                self.conn.exec_driver_sql(f"ANALYZE {self.NAME}")
        columns = ["jurisdiction_id", *FIELDS, "source", "created_at", "updated_at"]
        # Fields the file does not cover take a new asset's default, the same for every row.
        values = [st.c[f] if f in self.fields else literal(NEW_DEFAULTS[f], ASSETS.c[f].type)
                  for f in FIELDS]
        add = insert(ASSETS).from_select(columns, select(
            literal(jurisdiction_id, Integer), *values,
            literal(source_label[:300], String), literal(now, UTCDateTime()),
            literal(now, UTCDateTime())).where(new))
        history = ["asset_id", "from_status", "to_status", "at", "actor", "reason"]
        constants = (null(), literal(now, UTCDateTime()), literal(actor.ref, String),
                     literal("registered by import", String))
        if self.pg:
            # One statement: the history rows come from the INSERT's own RETURNING.
            added = add.returning(ASSETS.c.id, ASSETS.c.status).cte("added")
            self.conn.execute(insert(HISTORY).from_select(history, select(
                added.c.id, constants[0], added.c.status, *constants[1:])).add_cte(added))
        else:
            self.conn.execute(add)
            self.conn.execute(insert(HISTORY).from_select(history, select(
                ASSETS.c.id, constants[0], ASSETS.c.status, *constants[1:])
                .where(ASSETS.c.jurisdiction_id == jurisdiction_id,
                       ASSETS.c.asset_code.in_(select(st.c.asset_code).where(new)))))
        if self.compare:
            self.conn.execute(
                update(ASSETS).where(ASSETS.c.id == st.c.existing_id)
                .values({f: st.c[f] for f in sorted(self.compare)} | {"updated_at": now}))

    def drop(self) -> None:
        self.table.drop(self.conn)


# ------------------------------------------------------------------------------ use case


def _record_carbon(session: Session, actor: Principal, jurisdiction_id: int, stage: _Stage,
                   report: ErrorReport, refuse: Callable[[str], ImportRefused]) -> None:
    """The energy of the assets the import added or changed into carbon (each asset's year
    replaced), inside the import's savepoint: a refusal by carbon refuses the import."""
    ids = list(session.scalars(select(ASSETS.c.id).where(
        ASSETS.c.jurisdiction_id == jurisdiction_id,
        ASSETS.c.asset_code.in_(select(stage.table.c.asset_code)))))
    try:
        service.record_carbon(session=session, actor=actor, asset_ids=ids)
    except ValidationFailed as exc:
        for e in exc.errors:
            report.add(RowError(None, str(e["loc"][0]), str(e.get("asset_code", "")),
                                f"{e['reason']} ({e['value']})"), stream=CHECKS)
        raise refuse(f"{exc.detail}; nothing was imported") from None


def import_assets(*, session: Session, actor: Principal, jurisdiction_id: int,
                  source: str | Path | BinaryIO, fmt: str | None = None,
                  preset: str = "govshare", dry_run: bool = False,
                  progress: Progress | None = None, file_name: str | None = None,
                  source_label: str | None = None, record_carbon: bool = True,
                  mapping: Mapping[str, str] | None = None) -> ImportResult:
    """Import a file of assets into one jurisdiction; see the module docstring.

    ``fmt`` is csv, xlsx or geojson (default: from the content, then the file name).
    ``dry_run`` validates and counts without writing (and without an audit row).
    ``record_carbon=False`` leaves carbon to a later ``service.record_carbon`` (the asset
    import benchmark times the registry's own write; carbon's import path has its own).
    ``mapping`` (field -> file column) is the user's column mapping on top of the preset, for
    a file from a source without one (the CLI's ``--map FILE_COLUMN=FIELD``).
    Raises :class:`ImportRefused` with the per-row report if any row has a problem.
    """
    authorize(actor, Action.property_manage, jurisdiction_id)
    target = regions_queries.get_jurisdiction(session=session, jurisdiction_id=jurisdiction_id)
    chosen = PRESETS.get(preset)
    if chosen is None:
        raise BadRequest(f"Unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    try:
        chosen = tabular.mapped(chosen, mapping or {})
    except tabular.MappingError as exc:
        raise BadRequest(f"Column mapping: {exc}") from None
    if fmt is not None and fmt not in FORMATS:
        raise BadRequest(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    with _opened(source) as (stream, opened_name):
        name = file_name or opened_name or "upload"
        sha, size, head = _sha256(stream)
        fmt = fmt or detect_format(name, head)
        result = ImportResult(dry_run=dry_run, file_name=name, sha256=sha, fmt=fmt,
                              preset=chosen.name)
        report = ErrorReport(streams=3)
        try:
            result = _run(session=session, actor=actor, target=target, preset=chosen,
                          stream=stream, name=name, fmt=fmt, size=size, result=result,
                          report=report, dry_run=dry_run, progress=progress,
                          source_label=source_label, record_carbon=record_carbon)
        except ImportRefused:
            raise  # the report goes with the exception; the caller closes it
        finally:
            if report.count == 0:
                report.close()
    if not dry_run:
        session.expire_all()  # rows were written around the ORM
    return result


def _run(*, session: Session, actor: Principal, target: Any, preset: Preset,
         stream: BinaryIO, name: str, fmt: str, size: int, result: ImportResult,
         report: ErrorReport, dry_run: bool, progress: Progress | None,
         source_label: str | None, record_carbon: bool = True) -> ImportResult:
    """Both passes of :func:`import_assets` on an opened, seekable stream."""
    start = stream.tell()

    def reopen() -> tabular.Table:
        stream.seek(start)
        return open_table(stream, fmt, sheet=SHEET)

    def refuse(detail: str) -> ImportRefused:
        return ImportRefused(detail, report=report, result=result)

    try:
        table = open_table(stream, fmt, sheet=SHEET)
    except FileRefused as exc:
        report.add(exc.error)
        raise refuse(f"{name} cannot be read: {exc.error.reason}") from None
    plan = make_plan(table.columns, preset, fmt)
    if plan.header_errors:
        for e in plan.header_errors:
            report.add(e)
        raise refuse(f"The columns of {name} do not fit the {preset.label} preset; "
                     "nothing was imported. A file from a source without a preset can say "
                     "which column gives which field (a column mapping: "
                     "FILE_COLUMN=FIELD)")
    check_jurisdiction = _jurisdiction_check(session, target)
    started_empty = session.scalar(select(ASSETS.c.id).where(
        ASSETS.c.jurisdiction_id == target.id).limit(1)) is None
    # Everything pass 1 needs from the database is read now: while it streams into the
    # staging table (started_empty on PostgreSQL) the connection runs nothing else.
    locate = _region_locator(session, target.region_id, eager=started_empty)
    savepoint = session.begin_nested()
    stage: _Stage | None = None
    try:
        stage = _Stage(session, covered=plan.covered, stream=started_empty)
        ctx = _Context(session=session, actor=actor, jurisdiction_id=target.id, plan=plan,
                       report=report, result=result, stage=stage, locate=locate,
                       started_empty=started_empty)
        total = size if fmt != "xlsx" else None
        codes = _validate(ctx, table, check_jurisdiction, total, progress)
        stage.finish()
        _report_duplicates(ctx, codes, reopen)
        del codes
        result.unplaced = plan.unplaced
        result.preview_columns = [(f, plan.column_of[f]) for f in plan.layout.fields
                                  if f in plan.column_of]
        result.energy_replaced = sorted(ctx.energy_replaced.values(),
                                        key=lambda r: (-r.count, str(r.from_year)))
        if result.rows == 0 and report.count == 0:
            report.add(RowError(None, "", "", "the file has a header but no data rows"))
        if report.count:
            raise refuse(f"{report.count:,} problem{'s' if report.count != 1 else ''} in "
                         f"{name}; nothing was imported")
        if dry_run:
            savepoint.rollback()
            return result
        if progress:
            progress("writing", 0, 1)
        try:
            ctx.stage.apply(jurisdiction_id=target.id, actor=actor,
                            source_label=source_label or f"import of {name} ({preset.label})")
        except IntegrityError as exc:
            raise Conflict("Another change to this jurisdiction's assets happened during the "
                           "import (an asset id was taken); nothing was imported, try again"
                           ) from exc
        if record_carbon and not plan.covered.isdisjoint(CARBON_FIELDS):
            _record_carbon(session, actor, target.id, ctx.stage, report, refuse)
        ctx.stage.drop()
        if result.added + result.updated > ANALYZE_AFTER_ROWS:
            # a large fill leaves the planner's statistics stale: later deletes and
            # cascades (an asset's history, a jurisdiction removed) would scan, not look up
            analyze(session, ASSETS.name, HISTORY.name)
            result.analyzed = True
        audit.record(session, actor, action="asset.import", entity="asset",
                     jurisdiction_id=target.id, after={
                         "file": name, "sha256": result.sha256, "format": fmt,
                         "preset": preset.name, "mapping": dict(preset.mapping),
                         "rows": result.rows, "added": result.added,
                         "updated": result.updated, "unchanged": result.unchanged,
                         "added_codes": ctx.added_codes, "updated_codes": ctx.updated_codes,
                         "codes_capped_at": AUDIT_CODES,
                         "energy_replaced": [
                             {"from_year": r.from_year, "to_year": r.to_year,
                              "assets": r.count, "codes": r.codes}
                             for r in result.energy_replaced],
                         "unplaced_columns": {c: n for c, n in result.unplaced if n},
                     })
        savepoint.commit()
        if progress:
            progress("writing", 1, 1)
    except BaseException as exc:
        if stage is not None:
            stage.finish(exc)
        if savepoint.is_active:
            savepoint.rollback()
        raise
    return result
