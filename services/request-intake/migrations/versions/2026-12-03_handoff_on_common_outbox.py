"""outbox: the hand-off to assessment-api moves onto the common outbox (the built-in
subscription of assessment-api, each outbox_entries row an event and its delivery, same
ids so that the Idempotency-Key c2r-outbox-<id> of an entry in flight stays the same);
outbox_entries is dropped

Revision ID: 9e4b2c7d1a63
Revises: 7a3d9e51c2b8
Create Date: 2026-12-03 10:00:00
"""

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import c2r_common.db

revision: str = '9e4b2c7d1a63'
down_revision: str | None = '7a3d9e51c2b8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copies of request_intake.outbox.service's constants: a migration keeps the values it
# was written with, whatever the code becomes.
HANDOFF_EVENT_TYPE = "org.itu.c2r.internal.assessment_requested"
SUBSCRIPTION_ID = uuid.UUID("c2a55e55-0000-4000-8000-000000000001")
OWNER = "service:assessment-api"
SOURCE = "/request-intake"
KIND = "assessment.create"
TO_DELIVERY = {"pending": "pending", "delivered": "delivered", "failed": "dead"}
TO_ENTRY = {delivery: entry for entry, delivery in TO_DELIVERY.items()}
_HTTP_STATUS = re.compile(r"^HTTP (\d{3})\b")

Moment = c2r_common.db.UTCDateTime(timezone=True)

entries = sa.table(
    "outbox_entries",
    sa.column("id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("request_id", sa.Uuid()),
    sa.column("payload", sa.JSON()),
    sa.column("idempotency_key", sa.String()),
    sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("next_attempt_at", Moment),
    sa.column("last_error", sa.Text()),
    sa.column("last_attempt_at", Moment),
    sa.column("delivered_at", Moment),
    sa.column("result_id", sa.String()),
    sa.column("created_at", Moment),
)
events = sa.table(
    "notification_events",
    sa.column("id", sa.Uuid()),
    sa.column("type", sa.String()),
    sa.column("source", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("country_iso3", sa.String()),
    sa.column("time", Moment),
    sa.column("data", sa.JSON()),
    sa.column("created_at", Moment),
)
subscriptions = sa.table(
    "notification_subscriptions",
    sa.column("id", sa.Uuid()),
    sa.column("owner", sa.String()),
    sa.column("owner_countries", sa.JSON()),
    sa.column("webhook_url", sa.String()),
    sa.column("email", sa.String()),
    sa.column("language", sa.String()),
    sa.column("event_types", sa.JSON()),
    sa.column("countries", sa.JSON()),
    sa.column("digest", sa.Boolean()),
    sa.column("secret", sa.Text()),
    sa.column("status", sa.String()),
    sa.column("consecutive_failures", sa.Integer()),
    sa.column("created_at", Moment),
    sa.column("updated_at", Moment),
)
deliveries = sa.table(
    "notification_deliveries",
    sa.column("id", sa.Integer()),
    sa.column("event_id", sa.Uuid()),
    sa.column("subscription_id", sa.Uuid()),
    sa.column("subject", sa.String()),
    sa.column("event_type", sa.String()),
    sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("next_attempt_at", Moment),
    sa.column("age_from", Moment),
    sa.column("last_attempt_at", Moment),
    sa.column("last_status_code", sa.Integer()),
    sa.column("last_error", sa.Text()),
    sa.column("delivered_at", Moment),
    sa.column("created_at", Moment),
)
requests = sa.table(
    "assistance_requests", sa.column("id", sa.Uuid()), sa.column("assessment_id", sa.Uuid())
)


def _status_code(error: str | None) -> int | None:
    found = _HTTP_STATUS.match(error or "")
    return int(found.group(1)) if found else None


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def _move(bind: sa.Connection, entry: Any) -> None:
    subject = f"requests/{entry.request_id}"
    bind.execute(sa.insert(events).values(
        id=entry.id, type=HANDOFF_EVENT_TYPE, source=SOURCE, subject=subject,
        country_iso3=(entry.payload or {}).get("country_iso3"), time=entry.created_at,
        data=entry.payload, created_at=entry.created_at,
    ))
    bind.execute(sa.insert(deliveries).values(
        event_id=entry.id, subscription_id=SUBSCRIPTION_ID, subject=subject,
        event_type=HANDOFF_EVENT_TYPE, status=TO_DELIVERY.get(entry.status, "pending"),
        attempts=entry.attempts, next_attempt_at=entry.next_attempt_at,
        age_from=entry.created_at, last_attempt_at=entry.last_attempt_at,
        last_status_code=_status_code(entry.last_error), last_error=entry.last_error,
        delivered_at=entry.delivered_at, created_at=entry.created_at,
    ))
    # An entry's result is the assessment linked on its request (written in the same
    # transaction); kept there should a request have lost it.
    result = _uuid(entry.result_id)
    if entry.status == "delivered" and result is not None:
        bind.execute(
            sa.update(requests)
            .where(requests.c.id == entry.request_id, requests.c.assessment_id.is_(None))
            .values(assessment_id=result)
        )


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    bind.execute(sa.insert(subscriptions).values(
        id=SUBSCRIPTION_ID, owner=OWNER, owner_countries=None, webhook_url=None, email=None,
        language="en", event_types=[HANDOFF_EVENT_TYPE], countries=None, digest=False,
        secret=None, status="active", consecutive_failures=0, created_at=now, updated_at=now,
    ))
    # In the order they were written: deliveries of one request keep it.
    for entry in bind.execute(sa.select(entries).order_by(entries.c.created_at, entries.c.id)):
        _move(bind, entry)

    with op.batch_alter_table('outbox_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_entries_status_next')
        batch_op.drop_index(batch_op.f('ix_outbox_entries_request_id'))

    op.drop_table('outbox_entries')


def downgrade() -> None:
    op.create_table('outbox_entries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_attempt_at', c2r_common.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', c2r_common.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('result_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['assistance_requests.id'], name=op.f('fk_outbox_entries_request_id_assistance_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_entries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_entries_idempotency_key'))
    )
    with op.batch_alter_table('outbox_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_entries_request_id'), ['request_id'], unique=False)
        batch_op.create_index('ix_outbox_entries_status_next', ['status', 'next_attempt_at'], unique=False)

    bind = op.get_bind()
    moved = _handoffs(bind)
    for row in moved:
        bind.execute(sa.insert(entries).values(**row))
    bind.execute(sa.delete(deliveries).where(deliveries.c.subscription_id == SUBSCRIPTION_ID))
    bind.execute(sa.delete(events).where(events.c.type == HANDOFF_EVENT_TYPE))
    bind.execute(sa.delete(subscriptions).where(subscriptions.c.id == SUBSCRIPTION_ID))


def _handoffs(bind: sa.Connection) -> list[dict[str, Any]]:
    """The hand-off deliveries as outbox_entries rows (the result: the linked assessment)."""
    rows = bind.execute(
        sa.select(deliveries, events.c.data)
        .join(events, events.c.id == deliveries.c.event_id)
        .where(deliveries.c.subscription_id == SUBSCRIPTION_ID)
        .order_by(deliveries.c.id)
    ).all()
    out = []
    for row in rows:
        request_id = uuid.UUID(str(row.data["source_request_id"]))
        linked = bind.execute(
            sa.select(requests.c.assessment_id).where(requests.c.id == request_id)
        ).scalar()
        status = TO_ENTRY.get(row.status, "pending")
        out.append({
            "id": row.event_id, "kind": KIND, "request_id": request_id, "payload": row.data,
            "idempotency_key": f"c2r-outbox-{row.event_id}", "status": status,
            "attempts": row.attempts, "next_attempt_at": row.next_attempt_at,
            "last_error": row.last_error, "last_attempt_at": row.last_attempt_at,
            "delivered_at": row.delivered_at,
            "result_id": str(linked) if status == "delivered" and linked else None,
            "created_at": row.created_at,
        })
    return out
