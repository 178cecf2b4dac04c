"""Photo thumbnails: a small copy of each asset photo for where it is shown small (the public
window's list shows each listing's first photo in a 96 x 72 box, and served the full photo
there, megabytes a row on a phone).

``asset_photos`` gains ``thumbnail`` (the bytes, same format as the photo) and its
``thumbnail_width`` and ``thumbnail_height``, all nullable: made at upload by
``core.images.thumbnail``, NULL when the photo is already small enough to be its own
thumbnail.

Photos stored before this revision are left NULL, not backfilled here: the migrations in this
repository never import the application (each revision stays as it ran, whatever the code
becomes), and a copy of the image code here would be a second image handler beside
``core.images``; decoding every stored photo (up to 5 MB each) would also hold the upgrade's
transaction for as long as that takes. Instead the photo routes serve the full photo where no
thumbnail exists, so nothing breaks, and ``govshare property thumbnails`` makes the missing
ones with ``core.images`` after the upgrade (idempotent; safe to run while serving).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 12:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('asset_photos') as batch:
        batch.add_column(sa.Column('thumbnail', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('thumbnail_width', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('thumbnail_height', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('asset_photos') as batch:
        for name in ('thumbnail_height', 'thumbnail_width', 'thumbnail'):
            batch.drop_column(name)
