"""Outbox (webhook messages and their delivery attempts) and tell us once (agencies subscribed
to life events, and the reports with their consent records).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:16:58.798927
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tellusonce_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('submission_key', sa.String(length=64), nullable=True),
    sa.Column('event_type', sa.String(length=30), nullable=False),
    sa.Column('personal_data_enc', sa.Text(), nullable=True),
    sa.Column('consent', sa.JSON(), nullable=False),
    sa.Column('consent_version', sa.String(length=40), nullable=False),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purge_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("event_type IN ('change_of_address', 'birth', 'death')", name=op.f('ck_tellusonce_reports_event_type')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_tellusonce_reports_region_id_regions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tellusonce_reports')),
    sa.UniqueConstraint('reference', name=op.f('uq_tellusonce_reports_reference')),
    sa.UniqueConstraint('submission_key', name=op.f('uq_tellusonce_reports_submission_key'))
    )
    with op.batch_alter_table('tellusonce_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tellusonce_reports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tellusonce_reports_purge_after'), ['purge_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_tellusonce_reports_region_id'), ['region_id'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('destination', sa.String(length=100), nullable=False),
    sa.Column('destination_label', sa.String(length=300), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret_enc', sa.Text(), nullable=False),
    sa.Column('body_enc', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_token', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('round_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dead_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'in_flight', 'delivered', 'dead')", name=op.f('ck_outbox_messages_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outbox_messages_attempts')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_outbox_messages_jurisdiction_id_jurisdictions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_messages_idempotency_key'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_destination'), ['destination'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_jurisdiction_id'), ['jurisdiction_id'], unique=False)
        batch_op.create_index('ix_outbox_messages_status_locked_until', ['status', 'locked_until'], unique=False)
        batch_op.create_index('ix_outbox_messages_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_topic'), ['topic'], unique=False)

    op.create_table('tellusonce_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('webhook_url', sa.String(length=500), nullable=False),
    sa.Column('secret_enc', sa.Text(), nullable=False),
    sa.Column('secret_hint', sa.String(length=12), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_tellusonce_subscriptions_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tellusonce_subscriptions')),
    sa.UniqueConstraint('jurisdiction_id', 'name', name=op.f('uq_tellusonce_subscriptions_jurisdiction_id_name'))
    )
    with op.batch_alter_table('tellusonce_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tellusonce_subscriptions_jurisdiction_id'), ['jurisdiction_id'], unique=False)

    op.create_table('outbox_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['outbox_messages.id'], name=op.f('fk_outbox_attempts_message_id_outbox_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_attempts'))
    )
    with op.batch_alter_table('outbox_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_attempts_message_id'), ['message_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_attempts_message_id'))

    op.drop_table('outbox_attempts')
    with op.batch_alter_table('tellusonce_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tellusonce_subscriptions_jurisdiction_id'))

    op.drop_table('tellusonce_subscriptions')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_topic'))
        batch_op.drop_index('ix_outbox_messages_status_next_attempt_at')
        batch_op.drop_index('ix_outbox_messages_status_locked_until')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_jurisdiction_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_destination'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_created_at'))

    op.drop_table('outbox_messages')
    with op.batch_alter_table('tellusonce_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tellusonce_reports_region_id'))
        batch_op.drop_index(batch_op.f('ix_tellusonce_reports_purge_after'))
        batch_op.drop_index(batch_op.f('ix_tellusonce_reports_created_at'))

    op.drop_table('tellusonce_reports')
