"""Fleet (issue 11): vehicles with their home site (a registry asset or a point) and status
history, fuel-card lines, odometer readings (flagged ones kept with their reason), trips from
usage logs, and the region's fleet parameters.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 23:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('fleet_parameters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_fleet_parameters_region_id_regions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_parameters')),
    sa.UniqueConstraint('region_id', name=op.f('uq_fleet_parameters_region_id'))
    )
    op.create_table('fleet_vehicles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('vehicle_class', sa.String(length=30), nullable=False),
    sa.Column('make', sa.String(length=60), nullable=True),
    sa.Column('model', sa.String(length=60), nullable=True),
    sa.Column('model_year', sa.Integer(), nullable=True),
    sa.Column('fuel_type', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('department', sa.String(length=60), nullable=True),
    sa.Column('home_asset_id', sa.Integer(), nullable=True),
    sa.Column('home_lon', sa.Float(), nullable=True),
    sa.Column('home_lat', sa.Float(), nullable=True),
    sa.Column('acquired_on', sa.Date(), nullable=True),
    sa.Column('acquisition_cost_cents', sa.BigInteger(), nullable=True),
    sa.Column('annual_maintenance_cents', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("fuel_type IN ('gasoline', 'diesel', 'flex_fuel', 'hybrid', 'plug_in_hybrid', 'electric', 'cng', 'propane', 'unknown')", name=op.f('ck_fleet_vehicles_fuel_type')),
    sa.CheckConstraint("status IN ('active', 'reserve', 'out_of_service', 'surplus', 'disposed')", name=op.f('ck_fleet_vehicles_status')),
    sa.CheckConstraint("vehicle_class IN ('sedan', 'suv', 'pickup', 'van', 'police_interceptor', 'medium_truck', 'heavy_truck', 'bus', 'off_road', 'other')", name=op.f('ck_fleet_vehicles_vehicle_class')),
    sa.ForeignKeyConstraint(['home_asset_id'], ['assets.id'], name=op.f('fk_fleet_vehicles_home_asset_id_assets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_fleet_vehicles_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_vehicles')),
    sa.UniqueConstraint('jurisdiction_id', 'unit_id', name=op.f('uq_fleet_vehicles_jurisdiction_id_unit_id'))
    )
    with op.batch_alter_table('fleet_vehicles', schema=None) as batch_op:
        batch_op.create_index('ix_fleet_vehicles_class_status', ['vehicle_class', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_fleet_vehicles_home_asset_id'), ['home_asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fleet_vehicles_jurisdiction_id'), ['jurisdiction_id'], unique=False)

    op.create_table('fleet_fuel_transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=100), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('product', sa.String(length=20), nullable=False),
    sa.Column('product_label', sa.String(length=100), nullable=False),
    sa.Column('gallons', sa.Float(), nullable=True),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('cost_cents', sa.BigInteger(), nullable=False),
    sa.Column('odometer', sa.Float(), nullable=True),
    sa.Column('flag', sa.String(length=300), nullable=True),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.CheckConstraint("product IN ('gasoline', 'e10', 'e85', 'diesel', 'b2', 'non_fuel')", name=op.f('ck_fleet_fuel_transactions_product')),
    sa.CheckConstraint('gallons IS NULL OR gallons >= 0', name=op.f('ck_fleet_fuel_transactions_gallons')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_fleet_fuel_transactions_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['fleet_vehicles.id'], name=op.f('fk_fleet_fuel_transactions_vehicle_id_fleet_vehicles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_fuel_transactions')),
    sa.UniqueConstraint('jurisdiction_id', 'source_key', name=op.f('uq_fleet_fuel_transactions_jurisdiction_id_source_key'))
    )
    with op.batch_alter_table('fleet_fuel_transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fleet_fuel_transactions_jurisdiction_id'), ['jurisdiction_id'], unique=False)
        batch_op.create_index('ix_fleet_fuel_vehicle_at', ['vehicle_id', 'occurred_at'], unique=False)

    op.create_table('fleet_trips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('miles', sa.Float(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.CheckConstraint('ended_at > started_at', name=op.f('ck_fleet_trips_order')),
    sa.CheckConstraint('miles >= 0', name=op.f('ck_fleet_trips_miles')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_fleet_trips_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['fleet_vehicles.id'], name=op.f('fk_fleet_trips_vehicle_id_fleet_vehicles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_trips')),
    sa.UniqueConstraint('vehicle_id', 'started_at', name=op.f('uq_fleet_trips_vehicle_id_started_at'))
    )
    with op.batch_alter_table('fleet_trips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fleet_trips_jurisdiction_id'), ['jurisdiction_id'], unique=False)

    op.create_table('fleet_vehicle_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint("to_status IN ('active', 'reserve', 'out_of_service', 'surplus', 'disposed')", name=op.f('ck_fleet_vehicle_status_changes_to_status')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['fleet_vehicles.id'], name=op.f('fk_fleet_vehicle_status_changes_vehicle_id_fleet_vehicles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_vehicle_status_changes'))
    )
    with op.batch_alter_table('fleet_vehicle_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fleet_vehicle_status_changes_vehicle_id'), ['vehicle_id'], unique=False)

    op.create_table('fleet_odometer_readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.Column('miles', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('fuel_transaction_id', sa.Integer(), nullable=True),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('flag', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('manual', 'fuel_card')", name=op.f('ck_fleet_odometer_readings_source')),
    sa.CheckConstraint('miles >= 0', name=op.f('ck_fleet_odometer_readings_miles')),
    sa.ForeignKeyConstraint(['fuel_transaction_id'], ['fleet_fuel_transactions.id'], name=op.f('fk_fleet_odometer_readings_fuel_transaction_id_fleet_fuel_transactions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['fleet_vehicles.id'], name=op.f('fk_fleet_odometer_readings_vehicle_id_fleet_vehicles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_odometer_readings')),
    sa.UniqueConstraint('fuel_transaction_id', name=op.f('uq_fleet_odometer_readings_fuel_transaction_id'))
    )
    with op.batch_alter_table('fleet_odometer_readings', schema=None) as batch_op:
        batch_op.create_index('ix_fleet_odometer_vehicle_at', ['vehicle_id', 'read_at'], unique=False)


def downgrade() -> None:

    with op.batch_alter_table('fleet_odometer_readings', schema=None) as batch_op:
        batch_op.drop_index('ix_fleet_odometer_vehicle_at')

    op.drop_table('fleet_odometer_readings')
    with op.batch_alter_table('fleet_vehicle_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fleet_vehicle_status_changes_vehicle_id'))

    op.drop_table('fleet_vehicle_status_changes')
    with op.batch_alter_table('fleet_trips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fleet_trips_jurisdiction_id'))

    op.drop_table('fleet_trips')
    with op.batch_alter_table('fleet_fuel_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_fleet_fuel_vehicle_at')
        batch_op.drop_index(batch_op.f('ix_fleet_fuel_transactions_jurisdiction_id'))

    op.drop_table('fleet_fuel_transactions')
    with op.batch_alter_table('fleet_vehicles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fleet_vehicles_jurisdiction_id'))
        batch_op.drop_index(batch_op.f('ix_fleet_vehicles_home_asset_id'))
        batch_op.drop_index('ix_fleet_vehicles_class_status')

    op.drop_table('fleet_vehicles')
    op.drop_table('fleet_parameters')

