"""The `govshare` command line on a FRESH database of one backend, for CLI tests.

Settings are given as GOVSHARE_* environment variables, exactly as an operator would, and
every command runs through typer's CliRunner. ``fresh_cli`` creates the empty database (and
``demo_cli`` a copy of the demo region's), sets the variables, and on exit restores them and
drops the database (PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from govshare.cli import app
from govshare.core.db import make_engine
from tests.conftest import PG_ADMIN_URL, SECRET_KEY, US_ATLAS, fresh_database_url


class Cli:
    """Runs `govshare ...` against one database; a wrong exit code fails with the output."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(app, list(args))
        assert result.exit_code == code, (
            f"`govshare {' '.join(args)}` exited {result.exit_code}, expected {code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}")
        return result

    def scalar(self, sql: str) -> int:
        """One integer read straight from the database (a fresh engine, disposed after)."""
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text(sql)).scalar_one())
        finally:
            engine.dispose()

    def count(self, table: str) -> int:
        return self.scalar(f"SELECT count(*) FROM {table}")


def flat(text: str) -> str:
    """Rich wraps at 80 columns when there is no terminal; compare with whitespace folded."""
    return " ".join(text.split())


@contextmanager
def fresh_cli(backend: str, tmp: Path, name: str) -> Iterator[Cli]:
    """A `Cli` on a new empty database of ``backend`` named after ``name``, data under ``tmp``."""
    with _cli_on(backend, fresh_database_url(backend, tmp, name), tmp) as cli:
        yield cli


@contextmanager
def demo_cli(backend: str, tmp: Path, name: str,
             demo_copy: Callable[[str, Path, str], str]) -> Iterator[Cli]:
    """A `Cli` on a new database of ``backend`` of its own holding the demo region as
    `govshare demo` builds it (a copy, see ``demo_copy`` in tests/conftest.py)."""
    with _cli_on(backend, demo_copy(backend, tmp, name), tmp) as cli:
        yield cli


@contextmanager
def _cli_on(backend: str, url: str, tmp: Path) -> Iterator[Cli]:
    """Sets the variables for ``url``; on exit restores them and drops the database
    (PostgreSQL)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GOVSHARE_DATABASE_URL", url)
    mp.setenv("GOVSHARE_DATA_DIR", str(tmp / "data"))
    mp.setenv("GOVSHARE_SECRET_KEY", SECRET_KEY)
    mp.setenv("GOVSHARE_US_ATLAS_DIR", str(US_ATLAS))
    mp.setenv("GOVSHARE_ENV", "test")
    try:
        yield Cli(url)
    finally:
        mp.undo()
        if backend == "postgresql":
            admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    db = url.rsplit("/", 1)[1]
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            finally:
                admin.dispose()
