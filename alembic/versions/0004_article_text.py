"""article text: feeds.full_text; stories.content and the article step's state

Revision ID: 0004_article_text
Revises: 0001
Create Date: 2026-12-01 21:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_article_text'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_text', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('article_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('article_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('article_fetched_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('article_lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('match_pending', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_stories_article_lease_until'), ['article_lease_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stories_article_lease_until'))
        batch_op.drop_column('match_pending')
        batch_op.drop_column('article_lease_until')
        batch_op.drop_column('article_fetched_at')
        batch_op.drop_column('article_reason')
        batch_op.drop_column('article_status')
        batch_op.drop_column('content')
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('full_text')
