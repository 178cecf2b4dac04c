"""Withdrawn outbox destinations: a deactivated subscription is sent nothing more.

Every claim checks ``outbox_destinations``, so the retries of a message that was in flight
when its subscription was deactivated are not sent. The subscriptions that are inactive
already are entered as withdrawn, since when they were last changed.

The text of receivers' answers is no longer kept (a webhook pointed at an internal service
showed staff its reply): what earlier attempts kept of it is deleted, leaving the status code.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_destinations',
    sa.Column('destination', sa.String(length=100), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('destination', name=op.f('pk_outbox_destinations'))
    )
    # tellusonce names its destinations "subscription:<id>" (tellusonce.service)
    op.execute("INSERT INTO outbox_destinations (destination, withdrawn_at, updated_at) "
               "SELECT 'subscription:' || CAST(id AS VARCHAR(20)), updated_at, updated_at "
               "FROM tellusonce_subscriptions WHERE NOT active")
    # Kept as "HTTP <code>: <body>" by attempts and "<reason>: HTTP <code>: <body>" by messages.
    op.execute("UPDATE outbox_attempts SET error = NULL WHERE status_code IS NOT NULL")
    op.execute("UPDATE outbox_messages SET last_error = 'The receiver answered HTTP ' || "
               "CAST(last_status_code AS VARCHAR(10)) || ' (its text is no longer kept)' "
               "WHERE last_status_code IS NOT NULL AND last_error LIKE '%: HTTP %'")


def downgrade() -> None:
    op.drop_table('outbox_destinations')
