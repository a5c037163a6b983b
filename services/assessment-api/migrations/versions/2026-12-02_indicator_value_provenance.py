"""indicator values: provenance (reported, estimated, imputed) and a source URL

Revision ID: 5a7c1e3d9b20
Revises: 3813744eddb7
Create Date: 2026-12-02 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5a7c1e3d9b20'
down_revision: str | None = '3813744eddb7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Values entered before provenance was recorded were entered as reported figures.
    with op.batch_alter_table('indicator_values', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('provenance', sa.String(length=20), server_default='reported', nullable=False)
        )
        batch_op.add_column(sa.Column('source_url', sa.String(length=2083), nullable=True))
    with op.batch_alter_table('indicator_value_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provenance', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('source_url', sa.String(length=2083), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('indicator_value_changes', schema=None) as batch_op:
        batch_op.drop_column('source_url')
        batch_op.drop_column('provenance')
    with op.batch_alter_table('indicator_values', schema=None) as batch_op:
        batch_op.drop_column('source_url')
        batch_op.drop_column('provenance')
