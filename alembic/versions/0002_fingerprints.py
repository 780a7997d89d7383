"""fingerprints of format 2: a version column, so stale ones are found by index

Fingerprints of format 2 keep the exact word, title and number sets the
near-duplicate decision is made on (``monitor.dedup``). Rows written before
this revision hold format 1 and get ``fingerprint_version`` NULL: the ingest
never compares a new story with them (they cannot be read as format 2), and
``monitor db refingerprint`` rewrites them with a progress bar, when the
operator chooses, not at start-up.

Revision ID: 0002_fingerprints
Revises: 0006_shared_pacing
Create Date: 2026-12-01 21:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_fingerprints'
down_revision = '0006_shared_pacing'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stories') as batch:
        batch.add_column(sa.Column('fingerprint_version', sa.SmallInteger(), nullable=True))
        batch.create_index(batch.f('ix_stories_fingerprint_version'), ['fingerprint_version'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stories') as batch:
        batch.drop_index(batch.f('ix_stories_fingerprint_version'))
        batch.drop_column('fingerprint_version')
