"""audit log indexes (by workspace and time, object, person, action)

Revision ID: f2b8d4c1a9e3
Revises: b4d6f8a2c1e5
Create Date: 2026-12-03 12:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f2b8d4c1a9e3'
down_revision = 'b4d6f8a2c1e5'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_audit_event_workspace_created': ['workspace_id', 'created_at'],
    'ix_audit_event_workspace_object': ['workspace_id', 'object_type', 'object_id',
                                        'created_at'],
    'ix_audit_event_workspace_user': ['workspace_id', 'user_id', 'created_at'],
    'ix_audit_event_workspace_action': ['workspace_id', 'action', 'created_at'],
}


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        # (workspace_id, created_at) serves every lookup the single-column index did.
        batch_op.drop_index('ix_audit_event_workspace_id')
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        batch_op.create_index('ix_audit_event_workspace_id', ['workspace_id'], unique=False)
