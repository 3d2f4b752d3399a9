"""Alembic migrations of the jiedai_flow schema."""
