"""sites: a region's shared-services center scenarios, with their uploaded candidate data.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sites_scenarios',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('overrides_file', sa.String(length=200), nullable=True),
    sa.Column('overrides_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('chosen_fips', sa.String(length=5), nullable=True),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'],
                            name=op.f('fk_sites_scenarios_region_id_regions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites_scenarios')),
    sa.UniqueConstraint('region_id', 'name', name=op.f('uq_sites_scenarios_region_id_name'))
    )
    op.create_index(op.f('ix_sites_scenarios_region_id'), 'sites_scenarios', ['region_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sites_scenarios_region_id'), table_name='sites_scenarios')
    op.drop_table('sites_scenarios')
