"""Shared plumbing for every domain's Typer sub-app: settings, database, errors, progress.

A command runs as one unit of work (``with db() as session``): it commits only if it gets to
the end, so a failing command changes nothing. Errors print one clear line and exit non-zero:
1 for a refused operation, 2 for bad input (as Typer itself does for bad options).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from govshare.core.db import make_engine, make_session_factory, unit_of_work
from govshare.core.errors import BadRequest, GovshareError, ValidationFailed
from govshare.core.settings import Settings, SettingsError

console = Console(soft_wrap=True)  # never break a path or a message mid-word
err_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def settings() -> Settings:
    try:
        return Settings()
    except (SettingsError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@contextmanager
def db() -> Iterator[Session]:
    engine = make_engine(settings().resolved_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Print a GovshareError as one line (plus its per-field problems) and exit non-zero."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except GovshareError as exc:
            code = 2 if isinstance(exc, BadRequest | ValidationFailed) else 1
            err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
            for e in exc.errors[:20]:
                where = " › ".join(str(p) for p in e.get("loc", []))
                err_console.print(f"  - {where + ': ' if where else ''}{e.get('reason')}",
                                  highlight=False)
            raise typer.Exit(code) from None

    return wrapper


@contextmanager
def progress() -> Iterator[Callable[[str], None]]:
    """A spinner with the current step, for anything that takes more than a moment."""
    if not sys.stderr.isatty():
        yield lambda _msg: None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("working", total=None)
        yield lambda msg: bar.update(task, description=msg)


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], **values: Any) -> M:
    """Build a pydantic model, turning its errors into one ValidationFailed naming each field."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise ValidationFailed(
            f"{model.__name__} is not valid",
            errors=[{"loc": [str(p) for p in e["loc"]], "reason": e["msg"]}
                    for e in exc.errors()],
        ) from None


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))
