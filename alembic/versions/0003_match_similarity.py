"""matches: similarity and nearest example of a match by example

Revision ID: 0003_match_similarity
Revises: 0005_console_indexes
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_match_similarity'
down_revision = "0005_console_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('matches') as batch:
        batch.add_column(sa.Column('similarity', sa.Float(), nullable=True))
        batch.add_column(sa.Column('example', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('matches') as batch:
        batch.drop_column('example')
        batch.drop_column('similarity')
