"""Migration 0022 on data written before it (both databases): a photo stored at 0021 keeps
its bytes and gets no thumbnail from the migration (it does not import the app; see its
docstring), is still served where a thumbnail is asked for (the photo itself), and gets one
from ``property thumbnails`` (``service.make_thumbnail``). Downgrade drops the columns and
keeps the photo and the table's constraints."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from PIL import Image
from sqlalchemy.orm import Session

from govshare.core import images, migrate
from govshare.core.db import make_engine, utcnow
from govshare.property import queries, service
from tests.conftest import BACKENDS, fresh_database_url
from tests.conftest import _drop_pg as drop_pg
from tests.factories.images import textured

ROWS = [
    "INSERT INTO regions (id, name, slug, created_at) VALUES (1, 'R', 'r', :now)",
    "INSERT INTO jurisdictions (id, region_id, name, kind, created_at, updated_at) "
    "VALUES (1, 1, 'City', 'city', :now, :now)",
    "INSERT INTO assets (id, jurisdiction_id, asset_code, name, kind, use, ownership, status, "
    "public_groups, synthetic_fields, created_at, updated_at) VALUES (1, 1, 'A', 'Hall', "
    "'building', 'office', 'owned', 'surplus', '[\"identity\", \"status\", \"photos\"]', '[]', "
    ":now, :now)",
    "INSERT INTO asset_photos (id, asset_id, content_type, data, bytes, width, height, "
    "alt_text, synthetic, created_at, created_by) VALUES (1, 1, 'image/jpeg', :data, :bytes, "
    "1600, 1200, 'Front', FALSE, :now, 'test')",
]
COLUMNS = {"thumbnail", "thumbnail_width", "thumbnail_height"}


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("asset_photos")}


@pytest.mark.parametrize("backend", BACKENDS)
def test_0022_adds_thumbnails_a_photo_stored_before_is_served_and_downgrade_drops_them(
        backend: str, tmp_path: Path) -> None:
    engine = make_engine(fresh_database_url(backend, tmp_path, "m0022"))
    photo = images.clean(textured(1600, 1200)).data
    try:
        migrate.upgrade(engine, "0021")
        with engine.begin() as conn:
            for stmt in ROWS:
                conn.execute(sa.text(stmt), {"now": utcnow(), "data": photo, "bytes": len(photo)})
        migrate.upgrade(engine, "0022")
        assert _columns(engine) >= COLUMNS
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT data, thumbnail, thumbnail_width FROM "
                                       "asset_photos")).one()
        assert bytes(row.data) == photo and row.thumbnail is None and row.thumbnail_width is None

        with Session(engine) as session:  # served: the photo stands in for its thumbnail
            stored = queries.public_photo(session=session, asset_id=1, photo_id=1)
            assert queries.photo_bytes(stored, thumbnail=True) == photo
            # and under the photo's own tag, which making the thumbnail then changes
            before = queries.photo_etag(stored, thumbnail=True)
            assert before == queries.photo_etag(stored)
            assert queries.photos_without_thumbnail(session=session) == [1]
            assert service.make_thumbnail(session=session, photo_id=1)
            session.commit()
        with Session(engine) as session:
            stored = queries.public_photo(session=session, asset_id=1, photo_id=1)
            thumb = queries.photo_bytes(stored, thumbnail=True)
            assert queries.photo_etag(stored, thumbnail=True) != before
            assert queries.photo_etag(stored) == before
            assert Image.open(io.BytesIO(thumb)).size == (320, 240)
            assert (stored.thumbnail_width, stored.thumbnail_height) == (320, 240)
            assert queries.photos_without_thumbnail(session=session) == []

        cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0021")
        assert migrate.current_revision(engine) == "0021"
        assert not COLUMNS & _columns(engine)
        with engine.connect() as conn:
            assert bytes(conn.execute(sa.text("SELECT data FROM asset_photos")).scalar_one()
                         ) == photo
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # still checked
            conn.execute(sa.text(ROWS[-1].replace("(1, 1,", "(2, 1,").replace("1600", "0")),
                         {"now": utcnow(), "data": photo, "bytes": len(photo)})
        with engine.begin() as conn:  # and still removed with its asset
            conn.execute(sa.text("DELETE FROM assets"))
            assert conn.execute(sa.text("SELECT count(*) FROM asset_photos")).scalar_one() == 0
        migrate.upgrade(engine)  # and up again
        assert _columns(engine) >= COLUMNS
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_pg(f"govshare_m0022_{os.getpid()}")
