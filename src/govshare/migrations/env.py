"""Alembic environment: the URL comes from the caller (core.migrate) or from GOVSHARE_*."""

from __future__ import annotations

from alembic import context

from govshare.core.db import make_engine
from govshare.core.models import metadata
from govshare.core.settings import Settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings().resolved_database_url
connection = config.attributes.get("connection")


def run(conn) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=conn,
        target_metadata=metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = make_engine(url)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
