"""agents: one unrevoked agent per (school, hardware id), older duplicates revoked

Revision ID: 7b1e0c4d2a91
Revises: e3d5aa599944
Create Date: 2026-12-02 01:50:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from c2r_common.db import UTCDateTime

revision: str = "7b1e0c4d2a91"
down_revision: str | None = "e3d5aa599944"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A device registered twice before the index existed keeps its latest agent.
_REVOKE_OLDER_DUPLICATES = sa.text(
    "UPDATE agents SET revoked_at = :now WHERE revoked_at IS NULL AND EXISTS ("
    " SELECT 1 FROM agents AS newer WHERE newer.revoked_at IS NULL"
    " AND newer.school_id = agents.school_id AND newer.hardware_id = agents.hardware_id"
    " AND (newer.created_at > agents.created_at"
    " OR (newer.created_at = agents.created_at AND newer.id > agents.id)))"
).bindparams(sa.bindparam("now", type_=UTCDateTime()))


def upgrade() -> None:
    op.get_bind().execute(_REVOKE_OLDER_DUPLICATES, {"now": datetime.now(UTC)})
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(
            "uq_agents_active_device",
            ["school_id", "hardware_id"],
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index("uq_agents_active_device")
