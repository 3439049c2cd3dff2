"""The event log: accepting pushed events, storing each user's log once and in order, and reading it back."""
