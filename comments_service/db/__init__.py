"""PostgreSQL access: the pool, the migration runner, named SQL and repositories."""
