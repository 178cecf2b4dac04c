"""The public asset page (issue 9 §6): a proposal deadline, zoning, a public contact, and
photos.

Site area is the existing ``land_area_acres``. The new fields are nullable: every existing
asset has none of them until its owner gives them, and each is published only through its
field group (``zoning``, ``contact``; the deadline goes with ``status``). Photos are kept in
the database (re-encoded, metadata dropped) beside their asset.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assets') as batch:
        batch.add_column(sa.Column('proposal_deadline', sa.Date(), nullable=True))
        batch.add_column(sa.Column('zoning', sa.String(100), nullable=True))
        batch.add_column(sa.Column('contact_name', sa.String(200), nullable=True))
        batch.add_column(sa.Column('contact_email', sa.String(254), nullable=True))
        batch.add_column(sa.Column('contact_phone', sa.String(30), nullable=True))
    op.create_table(
        'asset_photos',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('asset_id', sa.Integer(), sa.ForeignKey('assets.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('content_type', sa.String(20), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('bytes', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('alt_text', sa.String(300), nullable=False),
        sa.Column('synthetic', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(80), nullable=False),
        sa.CheckConstraint("content_type IN ('image/jpeg', 'image/png', 'image/webp')",
                           name=op.f('ck_asset_photos_content_type')),
        sa.CheckConstraint('width > 0 AND height > 0 AND bytes > 0',
                           name=op.f('ck_asset_photos_size')),
    )
    op.create_index('ix_asset_photos_asset_id', 'asset_photos', ['asset_id'])


def downgrade() -> None:
    op.drop_index('ix_asset_photos_asset_id', table_name='asset_photos')
    op.drop_table('asset_photos')
    with op.batch_alter_table('assets') as batch:
        for name in ('contact_phone', 'contact_email', 'contact_name', 'zoning',
                     'proposal_deadline'):
            batch.drop_column(name)
