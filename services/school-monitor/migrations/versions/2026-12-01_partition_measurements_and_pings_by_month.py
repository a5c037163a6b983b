"""partition measurements and pings by month

On PostgreSQL, `measurements` and `pings` become tables partitioned by month of their
moment (`measured_at`, `checked_at`), with a DEFAULT partition as a safety net, and the
client's UUID is kept unique across partitions by a key table per kind (`measurement_keys`,
`ping_keys`). Existing rows are copied into the partitions and their UUIDs into the key
tables; the partitions created cover the existing rows and three months either side of
now (the background round creates the others: school_monitor.retention).

SQLite keeps one table per kind; the key tables are created there too, so that the schema
matches the models, and stay empty.

Revision ID: 0812c5ddff1b
Revises: 9f7362d87b3c
Create Date: 2026-12-01 21:55:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import c2r_common.db

revision: str = '0812c5ddff1b'
down_revision: str | None = '9f7362d87b3c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (moment column, key table). Self-contained on purpose: a migration must not
# change when the service's code does.
PARTITIONED = {
    'measurements': ('measured_at', 'measurement_keys'),
    'pings': ('checked_at', 'ping_keys'),
}
MONTHS_AROUND_NOW = 3


def _month_index(moment: datetime) -> int:
    moment = moment.astimezone(UTC)
    return moment.year * 12 + moment.month - 1


def _month_start(index: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _create_key_tables() -> None:
    for _table, (_moment, keys) in PARTITIONED.items():
        op.create_table(
            keys,
            sa.Column('uuid', sa.Uuid(), nullable=False),
            sa.Column('stored_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint('uuid', name=op.f(f'pk_{keys}')),
        )
        with op.batch_alter_table(keys, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{keys}_stored_at'), ['stored_at'], unique=False)


def _months_to_create(old: str, moment: str) -> range:
    """Month indexes from the oldest existing row (or three months ago) to the newest
    (or three months ahead)."""
    now = _month_index(datetime.now(UTC))
    span = sa.text(f'SELECT min({moment}), max({moment}) FROM {old}')
    first, last = op.get_bind().execute(span).one()
    low = min(now - MONTHS_AROUND_NOW, _month_index(first) if first else now)
    high = max(now + MONTHS_AROUND_NOW, _month_index(last) if last else now)
    return range(low, high + 1)


def _partition(table: str, moment: str) -> None:
    old = f'{table}_unpartitioned'
    op.execute(f'ALTER TABLE {table} RENAME TO {old}')
    op.execute(f'ALTER INDEX pk_{table} RENAME TO pk_{old}')
    op.execute(f'ALTER INDEX ix_{table}_school_id RENAME TO ix_{old}_school_id')
    op.execute(
        f'CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE ({moment})'
    )
    # A unique index of a partitioned table must hold the partition key.
    op.execute(f'ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (uuid, {moment})')
    op.execute(
        f'ALTER TABLE {table} ADD CONSTRAINT fk_{table}_school_id_schools '
        'FOREIGN KEY (school_id) REFERENCES schools (id) ON DELETE CASCADE'
    )
    op.execute(f'CREATE INDEX ix_{table}_school_id ON {table} (school_id, {moment}, uuid)')
    for index in _months_to_create(old, moment):
        start, end = _month_start(index), _month_start(index + 1)
        op.execute(
            f'CREATE TABLE {table}_y{start.year:04d}m{start.month:02d} PARTITION OF {table} '
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    op.execute(f'CREATE TABLE {table}_default PARTITION OF {table} DEFAULT')
    op.execute(f'INSERT INTO {table} SELECT * FROM {old}')
    keys = PARTITIONED[table][1]
    op.execute(f'INSERT INTO {keys} (uuid, stored_at) SELECT uuid, received_at FROM {old}')
    op.execute(f'DROP TABLE {old}')


def _unpartition(table: str, moment: str) -> None:
    partitioned = f'{table}_partitioned'
    op.execute(f'ALTER TABLE {table} RENAME TO {partitioned}')
    op.execute(f'ALTER INDEX pk_{table} RENAME TO pk_{partitioned}')
    op.execute(f'ALTER INDEX ix_{table}_school_id RENAME TO ix_{partitioned}_school_id')
    op.execute(f'CREATE TABLE {table} (LIKE {partitioned} INCLUDING DEFAULTS)')
    op.execute(f'ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (uuid)')
    op.execute(
        f'ALTER TABLE {table} ADD CONSTRAINT fk_{table}_school_id_schools '
        'FOREIGN KEY (school_id) REFERENCES schools (id) ON DELETE CASCADE'
    )
    op.execute(f'CREATE INDEX ix_{table}_school_id ON {table} (school_id, {moment}, uuid)')
    # The first stored row of a UUID wins, as it did before partitioning.
    op.execute(
        f'INSERT INTO {table} SELECT * FROM {partitioned} ORDER BY received_at '
        'ON CONFLICT (uuid) DO NOTHING'
    )
    op.execute(f'DROP TABLE {partitioned}')  # and its partitions


def upgrade() -> None:
    _create_key_tables()
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, (moment, _keys) in PARTITIONED.items():
        _partition(table, moment)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table, (moment, _keys) in PARTITIONED.items():
            _unpartition(table, moment)
    for _table, (_moment, keys) in PARTITIONED.items():
        with op.batch_alter_table(keys, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{keys}_stored_at'))
        op.drop_table(keys)
