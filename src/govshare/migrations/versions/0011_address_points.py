"""Address points: the region's addresses and named places with their points, matched by
address search (issue 9 §1; docs/adr/0016-address-matching.md). And the front office's staff
work (issue 9 §4): a service's target days (its service-level clock) and a request's
assignee.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('address_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('loose_key', sa.String(length=200), nullable=True),
    sa.Column('name_key', sa.String(length=200), nullable=True),
    sa.Column('line', sa.String(length=300), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('unit', sa.String(length=50), nullable=True),
    sa.Column('postcode', sa.String(length=10), nullable=True),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'],
                            name=op.f('fk_address_points_region_id_regions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_address_points'))
    )
    op.create_index('ix_address_points_region_loose', 'address_points',
                    ['region_id', 'loose_key'])
    op.create_index('ix_address_points_region_name', 'address_points', ['region_id', 'name_key'])
    op.create_index('ix_address_points_region_source', 'address_points', ['region_id', 'source'])
    with op.batch_alter_table('services') as batch:
        batch.add_column(sa.Column('target_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('service_requests') as batch:
        batch.add_column(sa.Column('assigned_to_id', sa.Integer(), nullable=True))
        batch.create_index('ix_service_requests_assigned_to_id', ['assigned_to_id'])
        batch.create_foreign_key('fk_service_requests_assigned_to_id_users', 'users',
                                 ['assigned_to_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('service_requests') as batch:
        batch.drop_constraint('fk_service_requests_assigned_to_id_users', type_='foreignkey')
        batch.drop_index('ix_service_requests_assigned_to_id')
        batch.drop_column('assigned_to_id')
    with op.batch_alter_table('services') as batch:
        batch.drop_column('target_days')
    op.drop_index('ix_address_points_region_source', table_name='address_points')
    op.drop_index('ix_address_points_region_name', table_name='address_points')
    op.drop_index('ix_address_points_region_loose', table_name='address_points')
    op.drop_table('address_points')
