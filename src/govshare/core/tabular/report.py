"""The one error-report format of every import: rows of (row, column, value, reason).

- :class:`ErrorReport` keeps every problem of a file on disk (a file may have a million), in
  row order, file-level problems first; it writes itself as CSV (:meth:`ErrorReport.write_csv`,
  values neutralized for spreadsheets) and previews its first problems.
- :class:`Refused` is the all-or-nothing refusal: a ``ValidationFailed`` (422) whose
  ``errors`` — the problem+json list — are the first :data:`PREVIEW` problems as
  ``{"row", "column", "value", "reason", "loc"}``, and which carries the full report.
- :class:`ReportStore` keeps a refused upload's report for an hour under a random token,
  bound to the uploader, for the page's "download every problem as CSV" link.
"""

from __future__ import annotations

import csv
import heapq
import json
import re
import secrets
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from govshare.core.errors import NotFound, ValidationFailed
from govshare.core.tabular.problems import RowError
from govshare.core.tabular.writers import neutralize

PREVIEW = 50  # problems carried in the exception (the rest are in the report)
COLUMNS = ("row", "column", "value", "reason")


def write_error_report(errors: Iterable[RowError], out: IO[str]) -> int:
    """Problems as CSV: row, column, value, reason (text neutralized). Returns the count."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    n = 0
    for e in errors:
        writer.writerow(["" if e.row is None else e.row, neutralize(e.column),
                         neutralize(e.value), neutralize(e.reason)])
        n += 1
    return n


class ErrorReport:
    """Every problem of a refused file, kept on disk in row order (file-level first).

    ``streams`` independent streams, each added to in row order (e.g. cell problems found
    while reading, and problems found later in batches), are merged by row when read.
    Close it with :meth:`close` (or it closes when collected)."""

    def __init__(self, streams: int = 1) -> None:
        self._files = [tempfile.TemporaryFile("w+", newline="", encoding="utf-8")  # noqa: SIM115
                       for _ in range(streams)]
        self._writers = [csv.writer(f) for f in self._files]
        self.count = 0
        self._file_level: list[RowError] = []

    def add(self, error: RowError, *, stream: int = 0) -> None:
        self.count += 1
        if error.row is None:
            self._file_level.append(error)
            return
        self._writers[stream].writerow([error.row, error.column, error.value, error.reason])

    def __iter__(self) -> Iterator[RowError]:
        yield from self._file_level
        streams = []
        for f in self._files:
            f.flush()
            f.seek(0)
            streams.append(RowError(int(r[0]), r[1], r[2], r[3]) for r in csv.reader(f))
        yield from heapq.merge(*streams, key=lambda e: e.row or 0)

    def first(self, n: int = PREVIEW) -> list[RowError]:
        out = []
        for e in self:
            out.append(e)
            if len(out) >= n:
                break
        return out

    def write_csv(self, out: IO[str]) -> int:
        return write_error_report(iter(self), out)

    def close(self) -> None:
        for f in self._files:
            f.close()


class Refused(ValidationFailed):
    """The file has problems; nothing was written. ``report`` holds every one of them, and
    ``errors`` (the problem+json list) the first :data:`PREVIEW`. Whoever catches it closes
    the report."""

    def __init__(self, detail: str, *, report: ErrorReport) -> None:
        self.preview = report.first()
        super().__init__(detail, errors=[e.as_dict() for e in self.preview])
        self.report = report


class ReportStore:
    """Refused uploads' reports in ``folder``, each as ``<token>.csv`` beside its
    ``<token>.json`` (owner, file name, count, time). A token is 192 random bits; a report is
    found only by its owner and only for ``ttl`` seconds (older ones are deleted on the next
    save)."""

    TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")

    def __init__(self, folder: Path, *, ttl: float = 3600) -> None:
        self.folder = folder
        self.ttl = ttl

    def _purge(self) -> None:
        cutoff = time.time() - self.ttl
        for f in self.folder.glob("*.*"):
            try:
                if f.stat().st_mtime < cutoff:
                    f.unlink()
            except OSError:
                continue

    def save(self, report: ErrorReport, *, owner: str, file_name: str) -> str:
        """Keep the report; returns its token."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._purge()
        token = secrets.token_urlsafe(24)
        with (self.folder / f"{token}.csv").open("w", encoding="utf-8", newline="") as fh:
            count = report.write_csv(fh)
        (self.folder / f"{token}.json").write_text(json.dumps({
            "owner": owner, "file": file_name, "count": count, "created": time.time()}))
        return token

    def find(self, token: str, *, owner: str) -> tuple[Path, dict[str, Any]]:
        """The report's CSV and its metadata, or NotFound (wrong token or owner, or old)."""
        if not self.TOKEN.fullmatch(token):
            raise NotFound("Report not found")
        try:
            meta = json.loads((self.folder / f"{token}.json").read_text())
        except (OSError, ValueError):
            raise NotFound("Report not found (reports are kept for an hour)") from None
        fresh = time.time() - float(meta.get("created", 0)) < self.ttl
        if meta.get("owner") != owner or not fresh:
            raise NotFound("Report not found (reports are kept for an hour)")
        return self.folder / f"{token}.csv", meta

    @staticmethod
    def download_name(meta: dict[str, Any]) -> str:
        """``<file stem>-errors.csv``, safe in a Content-Disposition header."""
        stem = Path(str(meta.get("file", "import"))).stem[:60] or "import"
        return re.sub(r"[^A-Za-z0-9._-]+", "_", stem) + "-errors.csv"
