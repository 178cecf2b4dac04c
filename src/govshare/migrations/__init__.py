"""Alembic migrations, numbered NNNN_slug.py; see ``core.migrate`` for how they are run."""
