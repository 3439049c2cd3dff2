"""``winledger admin``: users and tokens, backup and restore, stats, erasure."""
