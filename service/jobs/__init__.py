"""Background jobs on the same PostgreSQL: enqueued in the transaction that needs them, run by `survey worker`."""
