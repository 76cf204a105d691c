"""A small, real data migration used by `make demo`: a source SQLite database is set up,
its tables are copied to a target database, and value sets are loaded."""
