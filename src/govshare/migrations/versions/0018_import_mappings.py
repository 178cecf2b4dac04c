"""Column mappings saved under a name (issue 9 §6).

A file from a source without a preset (Chicago's benchmarking file, say) is imported through a
column mapping; saved under a name, the region's next import of the same kind of file picks it
instead of typing it again.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 04:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'import_mappings',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('region_id', sa.Integer(), sa.ForeignKey('regions.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('name', sa.String(80), nullable=False),
        sa.Column('pairs', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(80), nullable=False),
        sa.UniqueConstraint('region_id', 'name', name='uq_import_mapping_name'),
    )
    op.create_index('ix_import_mappings_region_id', 'import_mappings', ['region_id'])


def downgrade() -> None:
    op.drop_index('ix_import_mappings_region_id', table_name='import_mappings')
    op.drop_table('import_mappings')
