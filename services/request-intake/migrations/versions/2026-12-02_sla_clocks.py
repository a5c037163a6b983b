"""sla clocks: first-response, resolution and stage clocks of requests; a call's calendar

Revision ID: 5c1e7d2a9b40
Revises: bf3c1a1937a8
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import c2r_common.db

revision: str = '5c1e7d2a9b40'
down_revision: str | None = 'bf3c1a1937a8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sla_clocks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('call_id', sa.Uuid(), nullable=False),
    sa.Column('target', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.String(length=30), nullable=True),
    sa.Column('calendar', sa.String(length=100), nullable=False),
    sa.Column('started_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('warn_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paused_at', c2r_common.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_microseconds', sa.BigInteger(), nullable=False),
    sa.Column('stopped_at', c2r_common.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['assistance_requests.id'], name=op.f('fk_sla_clocks_request_id_assistance_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_clocks'))
    )
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_clocks_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_sla_clocks_request_running', ['request_id', 'stopped_at'], unique=False)
        batch_op.create_index('ix_sla_clocks_warn_due', ['stopped_at', 'warn_at', 'due_at'], unique=False)
    # Existing calls keep the default calendar (NULL).
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_calendar', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('sla_calendar')
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clocks_warn_due')
        batch_op.drop_index('ix_sla_clocks_request_running')
        batch_op.drop_index(batch_op.f('ix_sla_clocks_call_id'))
    op.drop_table('sla_clocks')
