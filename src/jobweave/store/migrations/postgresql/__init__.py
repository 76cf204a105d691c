"""The PostgreSQL chain of store revisions."""
