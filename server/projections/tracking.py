"""The tracking recorder: a user's read-model rows and their checkpoint, written together.

In eventsourcing's words, the checkpoint is the read models' tracking record: the seq of the
newest event they reflect, and the projection version that folded them. Invariants, whatever the
backend:

- A user's ``project_models`` rows are exactly what the projections fold from that user's events
  with ``seq <= checkpoint.seq``, nothing more, nothing less: rows and checkpoint change only
  together, in one write transaction (``TrackingWrites.record`` and ``TrackingWrites.swap``; no
  other write of rows exists). A failure between them leaves neither.
- ``record`` is a compare-and-set against the checkpoint its batch started from
  (``CheckpointMoved`` otherwise), so a restart resumes exactly at the checkpoint and no batch is
  applied twice.
- One writer per user: the user's lease (``take_lease``), taken and renewed in the write
  transactions that write rows, so a holder whose lease expired cannot commit.
- A reader that reads checkpoint and rows in one ``reading()`` snapshot sees models that reflect
  exactly the checkpoint's seq (a rebuild's swap included: old models or new, never a mix).

One abstract recorder, one module per backend, picked once for a store by
``server.projections.recorders.recorder_for``: ``tracking_sqlite`` (a SQLite file: every read and write
on plain ``sqlite3``, as its event log), ``tracking_postgres`` (PostgreSQL: on plain ``asyncpg``, on its
event log's pool) and ``tracking_sqlalchemy`` (anything else SQLAlchemy serves: an in-memory SQLite; and
the reference the others are held to). tests/server/test_tracking.py runs one contract against each.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, NamedTuple

from schema import projections
from schema.projections import ProjectModel
from server.exceptions import ServerError
from server.projections.bodies import decode_event
from server.projections.rows import Encoded, EncodedRow


class Checkpoint(NamedTuple):
    """The tracking record of a user's read models."""

    seq: int
    version: int


class CheckpointMoved(ServerError):
    """The checkpoint changed under a projector: someone else projected this user (lost lease)."""


def code_version() -> int:
    """The projection version of this code (read at call time, so that tests can change it)."""
    return projections.PROJECTION_VERSION


BatchOutcome = Literal["lost", "moved", "caught_up", "more", "busy"]
"""What ``TrackingWrites.commit_batch`` did with a projector's batch."""

LogRow = tuple[int, str, str | None, bytes]
"""``(seq, type, project_id, body)`` of a stored event."""


class LogReads(ABC):
    """Reads inside one transaction that sees one committed state (a snapshot)."""

    @abstractmethod
    async def standing(self, user_id: int) -> tuple[int, Checkpoint | None]:
        """The user's newest seq and checkpoint, in one statement."""

    @abstractmethod
    async def log_head(self, user_id: int) -> int:
        """The user's newest seq (0 without events)."""

    @abstractmethod
    async def read_checkpoint(self, user_id: int) -> Checkpoint | None: ...

    @abstractmethod
    async def behind_users(
        self, version: int, only: Iterable[int] | None = None
    ) -> list[tuple[int, int, Checkpoint | None]]:
        """``(user id, newest seq, checkpoint)`` of the users (of ``only``) whose models are behind or
        of another version, by id."""

    @abstractmethod
    async def events_after(
        self, user_id: int, after: int, upto: int | None = None, limit: int | None = None
    ) -> list[LogRow]:
        """The events with ``after < seq <= upto``, in seq order."""

    @abstractmethod
    async def keys_of_targets(self, user_id: int, targets: Iterable[str], upto: int) -> set[str]:
        """Project keys of the retracted or redacted events (by id) that have arrived by ``upto``.

        A retraction or redaction of a retraction or redaction is folded into no project, so it
        touches none."""

    async def retractions(self, user_id: int, upto: int) -> list[dict[str, Any]]:
        """The user's retractions up to ``upto``, decoded."""
        return [decode_event(body) for body in await self.retraction_bodies(user_id, upto)]

    @abstractmethod
    async def retraction_bodies(self, user_id: int, upto: int) -> list[bytes]: ...

    async def project_events(
        self, user_id: int, keys: Iterable[str], upto: int
    ) -> dict[str, list[dict[str, Any]]]:
        """The events (not retractions nor redactions) of these projects up to ``upto``, decoded, by key;
        ``''`` is the project-less bucket."""
        found: dict[str, list[dict[str, Any]]] = {key: [] for key in sorted(set(keys))}
        for key, body in await self.project_bodies(user_id, found, upto):
            found[key].append(decode_event(body))
        return found

    @abstractmethod
    async def project_bodies(self, user_id: int, keys: Iterable[str], upto: int) -> list[tuple[str, bytes]]:
        """``(project key, body)`` of the events (not retractions nor redactions) of these projects up to
        ``upto``, in no particular order (a fold orders them canonically)."""

    @abstractmethod
    async def project_sizes(self, user_id: int) -> list[tuple[str, int]]:
        """``(project key, number of events)`` of every project in the user's log, by key: a size to
        plan reads by (retractions that carry a project id count, and events past any checkpoint)."""

    @abstractmethod
    async def model_keys(self, user_id: int) -> list[str]:
        """The keys of the user's model rows."""

    @abstractmethod
    async def load_models_of(self, user_id: int, keys: Iterable[str]) -> dict[str, ProjectModel]:
        """The stored models of these project keys (those that exist)."""


class TrackingWrites(LogReads):
    """One write transaction: leases, and rows written only with their checkpoint."""

    @abstractmethod
    async def take_lease(self, user_id: int, holder: str, ttl_s: float, *, request: bool = False) -> bool:
        """Take or renew the user's lease; False while someone else holds it.

        With ``request``, a refusal also asks the holder to hand the lease over when it can
        (``hand_over``): a rebuild would otherwise wait forever on a projector kept busy by pushes."""

    @abstractmethod
    async def hand_over(self, user_id: int, holder: str, ttl_s: float) -> bool:
        """Give the lease to whoever requested it, if anyone did; True when it was handed over."""

    @abstractmethod
    async def release_lease(self, user_id: int, holder: str) -> None: ...

    @abstractmethod
    async def release_all(self, holder: str, user_ids: Sequence[int] | None = None) -> None: ...

    @abstractmethod
    async def record(
        self,
        user_id: int,
        models: Mapping[str, ProjectModel | Encoded | None],
        new: Checkpoint,
        expected: Checkpoint | None,
    ) -> None:
        """Replace the rows of these projects (``None`` deletes one: nothing of the project remains; a model
        may come encoded already, by ``rows.encode_row``) and
        move the checkpoint from ``expected`` to ``new``; ``CheckpointMoved`` if it is not at
        ``expected``. The checkpoint is left alone when ``new == expected``."""

    @abstractmethod
    async def swap(self, user_id: int, rows: Iterable[Sequence[EncodedRow]], checkpoint: Checkpoint) -> None:
        """Replace all of the user's rows with ``rows`` (in batches) and set the checkpoint, whatever it
        was (a rebuild's swap, under the user's lease)."""

    async def take_leases(self, user_ids: Sequence[int], holder: str, ttl_s: float) -> list[bool]:
        """``take_lease`` of each user, in order (a backend may do them in one step)."""
        return [await self.take_lease(user_id, holder, ttl_s) for user_id in user_ids]

    async def commit_batch(
        self,
        user_id: int,
        holder: str,
        ttl_s: float,
        models: Mapping[str, Encoded | None],
        new: Checkpoint,
        expected: Checkpoint | None,
    ) -> BatchOutcome:
        """A projector's batch, in this transaction: the lease renewed (``lost`` if it cannot be), the
        checkpoint checked (``moved``, the lease released, if it is not at ``expected``), the rows and the
        checkpoint recorded, then the lease handed over if someone asked (``busy``) or released once the
        checkpoint is the log's head (``caught_up``; ``more`` otherwise). A backend may do it in one step;
        this is the reference, from the steps above."""
        if not await self.take_lease(user_id, holder, ttl_s):
            return "lost"
        if await self.read_checkpoint(user_id) != expected:
            await self.release_lease(user_id, holder)
            return "moved"
        await self.record(user_id, models, new, expected)
        caught_up = new.seq == await self.log_head(user_id)
        if await self.hand_over(user_id, holder, ttl_s):
            return "busy"
        if caught_up:
            await self.release_lease(user_id, holder)
            return "caught_up"
        return "more"


class TrackingRecorder(ABC):
    """A backend's tracking recorder (see the module docstring)."""

    @abstractmethod
    def reading(self) -> AbstractAsyncContextManager[LogReads]:
        """A read transaction in which every statement sees the same committed state."""

    @abstractmethod
    def writing(self) -> AbstractAsyncContextManager[TrackingWrites]:
        """A write transaction, serialized with the store's other writers; commits on a clean exit."""

    @abstractmethod
    async def project_bodies(self, user_id: int, keys: Iterable[str], upto: int) -> list[tuple[str, bytes]]:
        """``LogReads.project_bodies`` in a read transaction of its own: the fold's large reads, which a
        backend may serve faster outside its general path."""

    async def standing(self, user_id: int) -> tuple[int, Checkpoint | None]:
        """``LogReads.standing`` in a read transaction of its own: what a reader waiting for the read models
        polls (``Projector.wait_for``), which a backend may answer without a hop."""
        async with self.reading() as reading:
            return await reading.standing(user_id)
