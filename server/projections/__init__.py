"""The read models on the server: from each user's event log to their stored models, and back to the routes.

Data flows one way; each module imports only those listed before it (ADR 0006 says why it works so):

- ``rows``, ``bodies``: pure: a model row's bytes and keys; stored event bodies as the folds read them.
- ``tracking``: the tracking recorder's interface and invariants (rows and checkpoint written together).
- ``reads``, ``leases``: the reads of models and checkpoints (the routes'); the per-user leases.
- ``tracking_sqlalchemy``, ``tracking_sqlite``: one recorder per backend; ``recorders`` picks one.
- ``rebuild``: a user's models rebuilt beside the live ones and swapped in.
- ``projector``: the batches and the background task that keeps every user up to date (starts rebuilds).
- ``verify``: ``admin rebuild --verify``; ``process``: the projector in a process of its own.
"""
