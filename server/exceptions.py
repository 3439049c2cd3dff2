"""Every error the server raises on purpose, under one root (a short module with no imports, as
starlette's: any room can import it without importing another room).

    ServerError
    ├── SettingsError        a WINLEDGER_* variable or a flag that cannot be used (also a ValueError)
    ├── AdminError           an admin command cannot do what was asked (server.accounts.auth)
    ├── BackupError          a backup or restore that cannot be done as asked (server.admin.backup)
    ├── StoreInUseError      the store is served (for a restore) or restored (for a server)
    ├── SchemaOutOfDate      the database's schema is older than this code (server.database.migrate)
    ├── SchemaTooNew         the database's schema is newer than this code
    ├── ProblemError         an HTTP answer other than success: a problem+json (server.http.problems)
    ├── PageError            a review page's error page (server.http.web.handlers)
    ├── CursorAhead          a cursor beyond the user's log: another store, or a restored one
    ├── Overloaded           the write queue is full: shed with 503 (server.eventlog.store)
    ├── LeaseBusy            another holder projects or rebuilds this user (server.projections.rebuild)
    └── CheckpointMoved      the read models moved on under a write (server.projections.tracking)

Each is defined beside the code that raises it, with the fields its handlers need.
"""


class ServerError(Exception):
    """Root of every error the server raises on purpose."""
