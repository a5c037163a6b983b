"""deployment keys: hashed under a server-side pepper, only the last characters in clear

Keys registered before were hashed with plain SHA-256 and kept their first 12 characters
in clear. Neither can be turned into the new form (the key itself is not stored), so they
are revoked and their hints cleared: register each build's key again.

Revision ID: 3f9a6d2c8e17
Revises: 7b1e0c4d2a91
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from c2r_common.db import UTCDateTime

revision: str = '3f9a6d2c8e17'
down_revision: str | None = '7b1e0c4d2a91'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.get_bind().execute(
        sa.text(
            "UPDATE deployment_keys SET key_hint = '',"
            " revoked_at = COALESCE(revoked_at, :now)"
        ).bindparams(sa.bindparam('now', type_=UTCDateTime())),
        {'now': datetime.now(UTC)},
    )


def downgrade() -> None:
    pass  # the old hashes and hints are gone for good
