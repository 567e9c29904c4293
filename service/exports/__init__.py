"""Exports: households as CSV (one file, or a ZIP like ODK Central's with repeats and media), XLSX and GeoJSON,
streamed from PostgreSQL; and the change feed that keeps another database in step."""
