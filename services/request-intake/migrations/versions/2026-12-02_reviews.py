"""reviews: forms of calls, reviewer assignments, scored reviews and their revisions

Revision ID: bf3c1a1937a8
Revises: 7b7038316906
Create Date: 2026-12-02 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import c2r_common.db

revision: str = 'bf3c1a1937a8'
down_revision: str | None = '7b7038316906'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('review_forms',
    sa.Column('call_id', sa.Uuid(), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('reviews_required', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_review_forms_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('call_id', name=op.f('pk_review_forms'))
    )
    op.create_table('review_assignments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('due_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('assigned_by', sa.String(length=200), nullable=False),
    sa.Column('assigned_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['assistance_requests.id'], name=op.f('fk_review_assignments_request_id_assistance_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_assignments')),
    sa.UniqueConstraint('request_id', 'reviewer', name='uq_review_assignments_request_reviewer')
    )
    with op.batch_alter_table('review_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_assignments_request_id'), ['request_id'], unique=False)
        batch_op.create_index('ix_review_assignments_reviewer_due', ['reviewer', 'due_at'], unique=False)

    op.create_table('reviews',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('assignment_id', sa.Uuid(), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('recommendation', sa.String(length=10), nullable=False),
    sa.Column('comments', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('submitted_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('amended_at', c2r_common.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['review_assignments.id'], name=op.f('fk_reviews_assignment_id_review_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['assistance_requests.id'], name=op.f('fk_reviews_request_id_assistance_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('assignment_id', name=op.f('uq_reviews_assignment_id'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_request_id'), ['request_id'], unique=False)

    op.create_table('review_revisions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('review_id', sa.Uuid(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('recommendation', sa.String(length=10), nullable=False),
    sa.Column('comments', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', c2r_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], name=op.f('fk_review_revisions_review_id_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_revisions')),
    sa.UniqueConstraint('review_id', 'revision', name='uq_review_revisions_review_revision')
    )


def downgrade() -> None:
    op.drop_table('review_revisions')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_request_id'))

    op.drop_table('reviews')
    with op.batch_alter_table('review_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_review_assignments_reviewer_due')
        batch_op.drop_index(batch_op.f('ix_review_assignments_request_id'))

    op.drop_table('review_assignments')
    op.drop_table('review_forms')
