"""The SQLite chain of store revisions (batch mode: SQLite alters tables by copying)."""
