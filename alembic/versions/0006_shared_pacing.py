"""delivery pacing shared by all workers: one row per destination

Revision ID: 0006_shared_pacing
Revises: 0004_article_text
Create Date: 2026-12-01 22:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_shared_pacing'
down_revision = '0004_article_text'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_pacing',
    sa.Column('destination', sa.String(length=300), nullable=False),
    sa.Column('next_send_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('destination', name=op.f('pk_delivery_pacing'))
    )


def downgrade() -> None:
    op.drop_table('delivery_pacing')
