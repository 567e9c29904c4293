"""Sync to a central PostgreSQL: a documented copy of the households, kept in step through the change feed."""
