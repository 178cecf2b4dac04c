"""What goes wrong in a file, in one shape for every domain: :class:`RowError` (row as the
user sees it, column, value, reason). A converter raises :class:`CellError` with the reason
only; the reader or plan adds the rest. :class:`FileRefused` is a file that cannot be read at
all (wrong format, encoding, empty, too wide, a bomb)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_CELL = 10_000  # characters shown of a bad value in a report


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: the row as the user sees it (None: the whole file), the column, the
    offending value as text, and the reason in words."""

    row: int | None
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """The problem as one element of a problem+json ``errors`` list."""
        loc: list[Any] = [f"row {self.row}"] if self.row is not None else ["file"]
        if self.column:
            loc.append(self.column)
        return {"row": self.row, "column": self.column, "value": self.value,
                "reason": self.reason, "loc": loc}


class CellError(ValueError):
    """Raised by a converter; the caller adds row, column and value."""


class FileRefused(Exception):
    """The file cannot be read at all (wrong format, encoding, empty, too large)."""

    def __init__(self, reason: str, *, row: int | None = None, column: str = "",
                 value: str = "") -> None:
        super().__init__(reason)
        self.error = RowError(row, column, value, reason)


def shown(value: Any) -> str:
    """A cell as text for a report, bad bytes visible as \\xNN, cut to MAX_CELL."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(shown(v) for v in value)
    text = value if isinstance(value, str) else str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…"
