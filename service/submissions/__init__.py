"""Submissions: ingest (new, retry, split upload, edit), storage and reading back."""
