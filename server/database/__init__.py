"""The database: its tables, the engine, and the migrations that create and upgrade it."""
