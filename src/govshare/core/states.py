"""State machines: the one way a status changes.

Each entity with a status declares its machine once, next to its status (service requests in
``frontoffice.calc``, assets and proposals in ``property.schemas``, outbox messages in
``outbox.schemas``; casebook proposals will do the same): its states with their labels, and
the moves allowed from each. Every write path then changes a status through it:

- one row in the session: ``MACHINE.move(row, to)`` checks the move and sets the status (and
  returns the status it had);
- many rows in one statement: ``update(Model).where(MACHINE.guard(Model.status, to), ...)
  .values(status=to, ...)`` touches only the rows whose current status may move to ``to``.

A refused move raises ``MoveRefused``, a 409 Conflict whose message names the entity, both
states and what the entity can become instead. Nothing else assigns a status:
``tests/core/test_states.py`` reads the package and fails on a raw assignment or
``UPDATE ... SET status``, and walks every from/to pair of every machine.

Pure: no database, no web. ``guard`` only calls the column's own ``in_``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from govshare.core.errors import Conflict


class MoveRefused(Conflict):
    """A status move the entity's machine does not allow (HTTP 409)."""

    code = "status-conflict"
    title = "This status change is not allowed"


class _Column(Protocol):
    def in_(self, other: Any) -> Any: ...


def _value(state: str | Enum) -> str:
    return str(state.value) if isinstance(state, Enum) else str(state)


@dataclass(frozen=True)
class StateMachine:
    """The states of one entity (value -> label, in display order) and the moves allowed."""

    entity: str  # in messages: "service request", "asset", "outbox message"
    labels: Mapping[str, str]
    moves: Mapping[str, frozenset[str]]
    attribute: str = "status"  # the row attribute (and column) holding the status
    _sources: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        states = set(self.labels)
        if set(self.moves) != states:
            raise ValueError(f"{self.entity}: moves are declared for {sorted(self.moves)}, "
                             f"states are {sorted(states)}")
        for start, targets in self.moves.items():
            unknown = set(targets) - states
            if unknown:
                raise ValueError(f"{self.entity}: {start} -> unknown {sorted(unknown)}")
        for state in self.labels:
            self._sources[state] = frozenset(s for s, t in self.moves.items() if state in t)

    @classmethod
    def of(cls, entity: str, labels: Mapping[Any, str],
           moves: Mapping[Any, Iterable[Any]], **kw: Any) -> StateMachine:
        """Build from enum members or plain strings alike."""
        return cls(entity=entity, labels={_value(k): v for k, v in labels.items()},
                   moves={_value(k): frozenset(_value(t) for t in v) for k, v in moves.items()},
                   **kw)

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.labels)

    def label(self, state: str | Enum) -> str:
        value = _value(state)
        return self.labels.get(value, value.replace("_", " "))

    def allows(self, current: str | Enum, to: str | Enum) -> bool:
        return _value(to) in self.moves.get(_value(current), frozenset())

    def next_states(self, current: str | Enum) -> list[str]:
        """What ``current`` may become, in the labels' order (for a page's choices)."""
        targets = self.moves.get(_value(current), frozenset())
        return [s for s in self.labels if s in targets]

    def sources(self, to: str | Enum) -> frozenset[str]:
        """The states from which ``to`` may be reached."""
        return self._sources.get(_value(to), frozenset())

    @property
    def _a(self) -> str:
        return "an" if self.entity[:1].lower() in "aeiou" else "a"

    def refusal(self, current: str | Enum, to: str | Enum) -> str:
        cur, new = _value(current), _value(to)
        if new not in self.labels:
            return f"{new!r} is not a status of {self._a} {self.entity}"
        options = self.next_states(cur)
        instead = ("it can become " + ", ".join(self.label(s).lower() for s in options)
                   if options else "that is final")
        return (f"{self._a.capitalize()} {self.entity} that is {self.label(cur).lower()} "
                f"cannot become {self.label(new).lower()}; {instead}.")

    def check(self, current: str | Enum, to: str | Enum) -> None:
        """Raise ``MoveRefused`` (409) unless ``current -> to`` is allowed."""
        if not self.allows(current, to):
            raise MoveRefused(self.refusal(current, to), errors=[{
                "loc": [self.attribute], "value": _value(to), "reason": self.refusal(current, to)}])

    def move(self, row: Any, to: str | Enum) -> str:
        """Check the move of ``row`` (its ``attribute``) to ``to`` and make it; returns the
        status it had."""
        current = _value(getattr(row, self.attribute))
        self.check(current, to)
        setattr(row, self.attribute, _value(to))
        return current

    def guard(self, column: _Column, to: str | Enum) -> Any:
        """The WHERE clause of a bulk move: the rows whose status may become ``to``."""
        return column.in_(sorted(self.sources(to)))


__all__ = ["MoveRefused", "StateMachine"]
