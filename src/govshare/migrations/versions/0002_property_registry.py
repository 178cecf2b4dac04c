"""Property registry: assets with status history, public proposals with status history,
per-region cost parameters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 08:47:08.415298
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('property_parameters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_property_parameters_region_id_regions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_parameters')),
    sa.UniqueConstraint('region_id', name=op.f('uq_property_parameters_region_id'))
    )
    op.create_table('assets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('asset_code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('use', sa.String(length=40), nullable=False),
    sa.Column('pm_property_type', sa.String(length=100), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('zip', sa.String(length=10), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('footprint_geojson', sa.Text(), nullable=True),
    sa.Column('gross_floor_area_ft2', sa.Float(), nullable=True),
    sa.Column('land_area_acres', sa.Float(), nullable=True),
    sa.Column('year_built', sa.Integer(), nullable=True),
    sa.Column('ownership', sa.String(length=20), nullable=False),
    sa.Column('annual_lease_cost_cents', sa.BigInteger(), nullable=True),
    sa.Column('repair_needs_cents', sa.BigInteger(), nullable=True),
    sa.Column('replacement_value_cents', sa.BigInteger(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('occupancy', sa.Integer(), nullable=True),
    sa.Column('annual_om_cost_cents', sa.BigInteger(), nullable=True),
    sa.Column('annual_energy_cost_cents', sa.BigInteger(), nullable=True),
    sa.Column('energy_year', sa.Integer(), nullable=True),
    sa.Column('electricity_kwh', sa.Float(), nullable=True),
    sa.Column('natural_gas_therms', sa.Float(), nullable=True),
    sa.Column('district_steam_kbtu', sa.Float(), nullable=True),
    sa.Column('fuel_oil_gallons', sa.Float(), nullable=True),
    sa.Column('propane_gallons', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('public_groups', sa.JSON(), nullable=False),
    sa.Column('synthetic_fields', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('building', 'land', 'structure')", name=op.f('ck_assets_kind')),
    sa.CheckConstraint("ownership IN ('owned', 'leased')", name=op.f('ck_assets_ownership')),
    sa.CheckConstraint("status IN ('in_use', 'under_used', 'vacant', 'surplus', 'disposal_in_progress', 'disposed')", name=op.f('ck_assets_status')),
    sa.CheckConstraint("use IN ('office', 'school', 'library', 'fire_station', 'police_station', 'courthouse', 'warehouse', 'garage_maintenance', 'community_center', 'park', 'vacant_land', 'other')", name=op.f('ck_assets_use')),
    sa.CheckConstraint('capacity IS NULL OR capacity >= 0', name=op.f('ck_assets_capacity')),
    sa.CheckConstraint('gross_floor_area_ft2 IS NULL OR gross_floor_area_ft2 >= 0', name=op.f('ck_assets_gfa')),
    sa.CheckConstraint('land_area_acres IS NULL OR land_area_acres >= 0', name=op.f('ck_assets_land')),
    sa.CheckConstraint('occupancy IS NULL OR occupancy >= 0', name=op.f('ck_assets_occupancy')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_assets_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets')),
    sa.UniqueConstraint('jurisdiction_id', 'asset_code', name=op.f('uq_assets_jurisdiction_id_asset_code'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_jurisdiction_id'), ['jurisdiction_id'], unique=False)
        batch_op.create_index('ix_assets_status_use', ['status', 'use'], unique=False)

    op.create_table('asset_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=30), nullable=True),
    sa.Column('to_status', sa.String(length=30), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.CheckConstraint("to_status IN ('in_use', 'under_used', 'vacant', 'surplus', 'disposal_in_progress', 'disposed')", name=op.f('ck_asset_status_changes_to_status')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_asset_status_changes_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_status_changes'))
    )
    with op.batch_alter_table('asset_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_status_changes_asset_id'), ['asset_id'], unique=False)

    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('proposed_use', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('public_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('proposal', 'challenge')", name=op.f('ck_proposals_kind')),
    sa.CheckConstraint("status IN ('received', 'under_review', 'accepted', 'declined')", name=op.f('ck_proposals_status')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_proposals_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_proposals_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals'))
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_jurisdiction_id'), ['jurisdiction_id'], unique=False)

    op.create_table('proposal_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_status_changes_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_status_changes'))
    )
    with op.batch_alter_table('proposal_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_status_changes_proposal_id'), ['proposal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('proposal_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_status_changes_proposal_id'))

    op.drop_table('proposal_status_changes')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_jurisdiction_id'))
        batch_op.drop_index(batch_op.f('ix_proposals_asset_id'))

    op.drop_table('proposals')
    with op.batch_alter_table('asset_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_status_changes_asset_id'))

    op.drop_table('asset_status_changes')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index('ix_assets_status_use')
        batch_op.drop_index(batch_op.f('ix_assets_jurisdiction_id'))

    op.drop_table('assets')
    op.drop_table('property_parameters')
