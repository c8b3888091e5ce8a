"""Database access: the schema as SQLAlchemy Core tables, engines, migrations."""
