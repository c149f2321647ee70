"""Storage: SQLModel tables, migrations, repositories and the append-only decision log."""
