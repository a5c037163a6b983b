"""assessments: re-scored copies under another methodology version (rescored_from_id);
unique per country, period and version, with one original per country and period

Revision ID: 8d2f4b6a1c37
Revises: 5a7c1e3d9b20
Create Date: 2026-12-02 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '8d2f4b6a1c37'
down_revision: str | None = '5a7c1e3d9b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORIGINAL = sa.text('rescored_from_id IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rescored_from_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_assessments_rescored_from_id_assessments'),
            'assessments',
            ['rescored_from_id'],
            ['id'],
        )
        batch_op.drop_constraint(batch_op.f('uq_assessments_country_iso3_period'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_assessments_country_iso3_period_methodology_version'),
            ['country_iso3', 'period', 'methodology_version'],
        )
    # Created outside the batch: SQLite's table copy would not carry the WHERE clause.
    op.create_index(
        'ix_assessments_original_country_period',
        'assessments',
        ['country_iso3', 'period'],
        unique=True,
        sqlite_where=ORIGINAL,
        postgresql_where=ORIGINAL,
    )


def downgrade() -> None:
    op.drop_index('ix_assessments_original_country_period', table_name='assessments')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('uq_assessments_country_iso3_period_methodology_version'), type_='unique'
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_assessments_country_iso3_period'), ['country_iso3', 'period']
        )
        batch_op.drop_constraint(
            batch_op.f('fk_assessments_rescored_from_id_assessments'), type_='foreignkey'
        )
        batch_op.drop_column('rescored_from_id')
