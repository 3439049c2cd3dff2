"""Users and bearer tokens."""
