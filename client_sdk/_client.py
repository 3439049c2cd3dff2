"""``Client``: append win events to a local store, offline, and sync them with a winledger server."""

from __future__ import annotations

import math
import numbers
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, get_args

import schema
from client_sdk._checks import (
    Refusal,
    future_problem,
    key_problem,
    payload_problem,
    redaction_problem,
    retraction_problem,
)
from client_sdk._ids import uuid7
from client_sdk._store import Store
from client_sdk._types import Account, Event, Status, SyncReport
from client_sdk.errors import (
    AccountMismatchError,
    AuthError,
    ConfigurationError,
    NetworkError,
    NotFoundError,
    ServerError,
    SyncError,
    UnrecordedMetricWarning,
    ValidationError,
)
from schema.redaction import REDACTED
from schema.types import SLUG_PATTERN, Layer

# httpx (with the sync code) and the read models are imported where they are used: an append, such as
# `winledger win "..."` from a terminal, then never pays for them (httpx alone takes about 0.25 s).
if TYPE_CHECKING:
    import httpx

    from client_sdk._transport import Transport
    from schema.projections import MetricChains, ProjectModel, ProjectSummary, ReviewDraft, TimelineView

When = datetime | str | None
_EVENT_ID = {"target": "event_id"}
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Client:
    """A device's replica of one user's win journal, stored in the SQLite file at ``path``.

    Appends work with no server at all. ``server`` and ``token`` (default: the
    ``WINLEDGER_SERVER`` and ``WINLEDGER_TOKEN`` environment variables) are
    needed only by ``sync()`` and ``verify()``. ``transport`` replaces the
    network (tests pass one that drives the server in-process). ``clock``
    replaces the device's wall clock (a callable returning unix milliseconds):
    it is the ``now`` of the hybrid logical clock and of the default
    ``occurred_at``, so tests can skew it or make it jump backwards.
    ``create=False`` opens only an existing journal (``JournalNotFoundError``
    otherwise): nothing is created, not even a folder.

    A journal belongs to the server and account of its first sync: ``sync()``
    with a token of another account, or with another server, raises
    ``AccountMismatchError`` and changes nothing (``account``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        server: str | None = None,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 120.0,
        batch_size: int = 1000,
        page_size: int = 1000,
        busy_timeout: float = 30.0,
        clock: Callable[[], int] | None = None,
        create: bool = True,
    ) -> None:
        if batch_size < 1 or page_size < 1:
            raise ConfigurationError(
                f"batch_size and page_size must be >= 1, got {batch_size} and {page_size}."
            )
        self._store = Store(path, busy_timeout=busy_timeout, clock=clock, create=create)
        self.server = server or os.environ.get("WINLEDGER_SERVER") or None
        self._token = token or os.environ.get("WINLEDGER_TOKEN") or None
        self._http_options: dict[str, Any] = {
            "transport": transport,
            "timeout": timeout,
            "retries": retries,
            "backoff": backoff,
            "max_backoff": max_backoff,
            "max_retry_after": max_retry_after,
        }
        self._http: Transport | None = None
        self._batch_size = batch_size
        self._page_size = page_size

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @classmethod
    def default(cls, **options: Any) -> Self:
        """The journal of the ``winledger`` command, with the server and token ``winledger login`` saved.

        The store is ``$WINLEDGER_STORE``, else ``journal.db`` in the user's data directory; ``options``
        are ``Client``'s keyword arguments.
        """
        from client_sdk import _config

        return cls(_config.store_path(), _config.server_url(), _config.read_token(), **options)

    @property
    def path(self) -> str:
        return self._store.path

    @property
    def device_id(self) -> str:
        """This store's device id (a new one after a ``device_seq_conflict``)."""
        return self._store.device_id

    @property
    def account(self) -> Account | None:
        """The server and account this journal belongs to (recorded by its first sync), else ``None``."""
        return self._store.account()

    # -- appends -----------------------------------------------------------------

    def _append(
        self,
        event_type: str,
        data: dict[str, Any],
        project: str | None,
        occurred_at: When,
        names: Mapping[str, str] | None = None,
    ) -> str:
        """Check for the likely mistakes of ``client_sdk._checks``, then append; ``names`` are the arguments
        that carry payload fields under another name (``target``: ``event_id``)."""
        # Absent and None are the same to the schema; dropping None keeps bodies minimal.
        payload = {key: value for key, value in data.items() if value is not None}
        problem = payload_problem(event_type, payload)
        if problem is not None:
            raise Refusal(event_type, problem, names)
        when = _timestamp(occurred_at, event_type, self._store.now_ms)
        moment = None if occurred_at is None else _moment(when)
        if moment is not None:
            problem = future_problem(moment, _UNIX_EPOCH + timedelta(milliseconds=self._store.now_ms()))
            if problem is not None:
                raise Refusal(event_type, problem, names)
        return self._write(event_type, payload, project, when)

    def _write(self, event_type: str, payload: dict[str, Any], project: str | None, occurred_at: When) -> str:
        """Append the event as given, checked by the schema alone (``_append`` checks for mistakes first)."""
        when = _timestamp(occurred_at, event_type, self._store.now_ms)
        event_id = uuid7()

        def build(device_id: str, device_seq: int, clock: int) -> dict[str, Any]:
            return {
                "id": event_id,
                "device_id": device_id,
                "device_seq": device_seq,
                "clock": clock,
                "occurred_at": when,
                "type": event_type,
                "v": schema.CURRENT_VERSIONS[event_type],
                "project_id": project,
                "data": payload,
            }

        return self._store.append(build).id

    def start_project(
        self,
        name: str,
        kind: str,
        *,
        summary: str | None = None,
        team: str | None = None,
        occurred_at: When = None,
    ) -> str:
        """Record ``project.started``; returns the new project's id (not the event's)."""
        project_id = uuid7()
        data = {"name": name, "kind": kind, "summary": summary, "team": team}
        self._append("project.started", data, project_id, occurred_at)
        return project_id

    def update_project(
        self,
        project: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        summary: str | None = None,
        team: str | None = None,
        occurred_at: When = None,
    ) -> str:
        data = {"name": name, "kind": kind, "summary": summary, "team": team}
        return self._append("project.updated", data, project, occurred_at)

    def capture(
        self,
        text: str,
        project: str | None = None,
        source: str = "text",
        tags: Iterable[str] = (),
        occurred_at: When = None,
    ) -> str:
        if isinstance(tags, str):
            raise ValidationError(
                f"Cannot append win.captured: `tags` must be a list of strings, got the string {tags!r}.",
                field="$.data.tags",
            )
        data = {"text": text, "source": source, "tags": list(tags) or None}
        return self._append("win.captured", data, project, occurred_at)

    def milestone(
        self, project: str, milestone: str, note: str | None = None, *, occurred_at: When = None
    ) -> str:
        return self._append("milestone.reached", {"milestone": milestone, "note": note}, project, occurred_at)

    def metric(
        self,
        project: str,
        key: str,
        value: float,
        *,
        layer: str,
        label: str | None = None,
        unit: str | None = None,
        baseline: float | None = None,
        low: float | None = None,
        high: float | None = None,
        direction: str | None = None,
        note: str | None = None,
        measure: str = "level",
        occurred_at: When = None,
    ) -> str:
        """Record ``metric.observed`` (version 2): ``key`` measured ``value`` at ``layer``.

        ``measure`` says what the number is: ``"level"`` (the default: the quantity itself, such as
        an AUC of 0.91 or a churn rate of 4.2 %) or ``"change"`` (a lift or a saving, recorded as
        such: +3.1 pp of conversion, 14 hours a week saved). ``direction`` is ``"higher_is_better"``
        (what readers assume when it is left out), ``"lower_is_better"``, or ``"none"`` when neither
        is better (an elasticity, a neutral share). ``low`` and ``high`` give an interval around
        ``value`` (both or neither); ``baseline`` is the value before.
        """
        numbers_ = {"value": value, "baseline": baseline, "low": low, "high": high}
        data: dict[str, Any] = {name: _number(name, number) for name, number in numbers_.items()}
        data.update(
            key=key, layer=layer, label=label, unit=unit, direction=direction, note=note, measure=measure
        )
        return self._append("metric.observed", data, project, occurred_at)

    def trained(
        self,
        project: str,
        metrics: Mapping[str, float] | None = None,
        *,
        layer: str = "model",
        note: str | None = None,
        occurred_at: When = None,
    ) -> str:
        """Record a ``trained`` milestone and one ``layer`` metric per item of ``metrics``, at one moment.

        Every key and value is checked before anything is stored. Returns the milestone's id.
        """
        when = _timestamp(occurred_at, "milestone.reached", self._store.now_ms)
        if layer not in get_args(Layer):
            raise ValidationError(
                f"Cannot append metric.observed: `layer` must be one of {', '.join(get_args(Layer))}, "
                f"got {layer!r}.",
                field="$.data.layer",
            )
        values = {key: _metric_value(key, value) for key, value in (metrics or {}).items()}
        milestone_id = self.milestone(project, "trained", note, occurred_at=when)
        for key, value in values.items():
            self.metric(project, key, value, layer=layer, occurred_at=when)
        return milestone_id

    def link_metrics(
        self,
        project: str,
        cause: str,
        effect: str,
        evidence: str,
        note: str | None = None,
        *,
        occurred_at: When = None,
    ) -> str:
        """Record that ``cause`` moved ``effect``. An end that names no metric this store holds in the
        project warns (``UnrecordedMetricWarning``): the link is stored, since the metric may come from
        another device, and can be retracted if the key was mistyped."""
        data = {"cause": cause, "effect": effect, "evidence": evidence, "note": note}
        link_id = self._append("metric.linked", data, project, occurred_at)
        for warning in self.unrecorded_link_ends(project, link_id):
            warnings.warn(warning, stacklevel=2)
        return link_id

    def unrecorded_link_ends(self, project: str, link_id: str) -> list[UnrecordedMetricWarning]:
        """What ``link_metrics`` warns of for the link ``link_id`` of ``project``: each end that names no
        metric observed (and not retracted) in that project in this store."""
        from client_sdk._names import visible

        link = self._store.event(link_id)
        if link is None:
            return []
        held = self._store.events(None, False, ("metric.observed", "event.retracted"))
        keys = sorted({str(e.data["key"]) for e in visible(held) if e.project_id == project})
        return [
            UnrecordedMetricWarning(project, role, str(link.data[role]), keys, link_id)
            for role in ("cause", "effect")
            if link.data[role] not in keys
        ]

    def feedback(
        self,
        project: str,
        quote: str,
        *,
        source_name: str | None = None,
        source_team: str | None = None,
        decision: str | None = None,
        occurred_at: When = None,
    ) -> str:
        data = {"quote": quote, "source_name": source_name, "source_team": source_team, "decision": decision}
        return self._append("feedback.received", data, project, occurred_at)

    def learning(
        self, text: str, kind: str = "learned", project: str | None = None, *, occurred_at: When = None
    ) -> str:
        return self._append("learning.noted", {"text": text, "kind": kind}, project, occurred_at)

    def retract(self, event_id: str, reason: str | None = None, *, occurred_at: When = None) -> str:
        """Record that ``event_id`` should be disregarded; the target stays in the log (it is immutable)."""
        target = self._store.resolve(event_id) if isinstance(event_id, str) else event_id
        if isinstance(target, str):
            held = self._store.events(None, True, ("event.retracted",)) + _listed(self._store.event(target))
            problem = retraction_problem(target, held)
            if problem is not None:
                raise Refusal("event.retracted", problem, _EVENT_ID)
        data = {"target": target, "reason": reason}
        return self._append("event.retracted", data, None, occurred_at, _EVENT_ID)

    def redact(
        self,
        event_id: str,
        reason: str | None = None,
        *,
        erase_project_name: bool = False,
        occurred_at: When = None,
    ) -> str:
        """Erase the free text of ``event_id`` everywhere (``event.redacted``); returns the redaction's id.

        The local copy of the target is rewritten at once, in the same transaction (a pending target
        is rewritten before it is ever pushed); the server rewrites its copy when the redaction is
        pushed, and every device that pulls it does the same. The log keeps the event's structure
        (type, ids, dates, kinds, numbers). Redacting a ``project.started`` or ``project.updated``
        that names the project turns the project's name into ``[redacted]`` everywhere: it is
        refused unless ``erase_project_name``. The target need not be in the store (it may come from
        a device not yet pulled); it is rewritten when it arrives. A redaction cannot be undone.
        """
        target = self._store.resolve(event_id) if isinstance(event_id, str) else event_id
        held = self._store.event(target)
        if (
            held is not None
            and held.type in ("project.started", "project.updated")
            and held.data.get("name") not in (None, REDACTED)
            and not erase_project_name
        ):
            raise ValidationError(
                f"Redacting {held.type} {target!r} would also erase the project's name "
                f"{held.data['name']!r} everywhere; pass erase_project_name=True to do that.",
                field="erase_project_name",
            )
        if isinstance(target, str):
            problem = redaction_problem(target, self._store.events(None, True, ("event.redacted",)))
            if problem is not None:
                raise Refusal("event.redacted", problem, _EVENT_ID)
        data = {"target": target, "reason": reason}
        return self._append("event.redacted", data, None, occurred_at, _EVENT_ID)

    # -- reads -------------------------------------------------------------------

    def events(self, project: str | None = None, *, include_unreadable: bool = False) -> list[Event]:
        """Pending, synced and unconfirmed events (retracted ones too), in canonical order.

        Events of a type or version this SDK does not know are left out unless
        ``include_unreadable``; rejected events are in ``rejected()``.
        """
        return self._store.events(project, include_unreadable)

    def find_project(self, name: str) -> str:
        """The id of the project called ``name`` (exactly, else in any case), or with that id or id prefix.

        Raises ``NotFoundError`` listing close matches when no project, or more than one, fits.
        """
        from client_sdk._names import project_refs, resolve_project

        return resolve_project(name, project_refs(self._store))

    # -- read models, computed offline with the server's code ---------------------

    def _models(self) -> dict[str | None, ProjectModel]:
        from schema.projections import build_models

        return build_models(self._store.bodies())

    def _model(self, project: str) -> ProjectModel:
        model = self._models().get(project) if isinstance(project, str) else None
        if model is None:
            raise NotFoundError(f"No project {project!r} in this store.")
        return model

    def projects(self) -> list[ProjectSummary]:
        """Every project this store knows, by last activity (newest first)."""
        from schema.projections import summary_of
        from schema.protocol.readmodels import by_recent_activity

        # The server's order, to the byte: newest activity first, ties by id ascending.
        return by_recent_activity(summary_of(m) for key, m in self._models().items() if key is not None)

    def timeline(self, project: str, as_of: date | str | None = None) -> TimelineView:
        """A project's timeline as of the end of ``as_of`` (default: today in UTC), from the events held here.

        Only events that occurred by the end of that day count. Raises ``NotFoundError`` when the store
        holds no such project, or nothing of it was recorded by then.
        """
        from schema.projections import timeline_view

        day = _date(as_of, "as_of") or _today()
        view = timeline_view(self._model(project), day)
        if view is None:
            raise NotFoundError(_nothing_yet(project, day))
        return view

    def metric_chains(self, project: str, as_of: date | str | None = None) -> MetricChains:
        """A project's metrics, their defensible headlines, links and chains as of the end of ``as_of``
        (default: today in UTC); ``NotFoundError`` like ``timeline()``."""
        from schema.projections import chains_as_of

        day = _date(as_of, "as_of") or _today()
        chains = chains_as_of(self._model(project), day)
        if chains is None:
            raise NotFoundError(_nothing_yet(project, day))
        return chains

    def review_draft(
        self,
        from_: date | str | None = None,
        to: date | str | None = None,
        as_of: date | str | None = None,
        *,
        format: str = "json",
        short: bool = False,
        cite: bool = True,
        markdown: bool = False,
    ) -> ReviewDraft | str:
        """The review draft of the period ``from_``..``to`` (inclusive UTC dates) as of the end of ``as_of``.

        The server's defaults and rules: ``to`` defaults to ``as_of`` when given, else today (UTC), and
        ``from_`` to 1 January of ``to``'s year; ``as_of`` defaults to ``to`` or today, whichever is
        earlier, and a period running past that default is drawn to it. An explicit ``as_of`` before
        ``to`` or after today raises ``ValidationError`` (``field`` names the argument), as does a
        period that starts after it ends or after today.

        ``format``: ``"json"`` (a ``ReviewDraft``), ``"md"`` (Markdown) or ``"text"`` (plain text, to
        paste into a review form); ``markdown=True`` is ``format="md"``. ``short``: the summary and the
        top accomplishments alone. ``cite=False`` drops the event citations from md and text.
        """
        from schema.projections import (
            PeriodError,
            render_markdown,
            render_text,
            resolve_period,
            review_draft,
            shorten,
        )

        if markdown:
            if format not in ("json", "md"):
                raise ValidationError(
                    f"markdown=True asks for Markdown, but format is {format!r}.", field="markdown"
                )
            format = "md"
        if format not in ("json", "md", "text"):
            raise ValidationError(f"format must be 'json', 'md' or 'text', got {format!r}.", field="format")
        today = _today()
        day = _date(as_of, "as_of")
        end = _date(to, "to") or day or today
        start = _date(from_, "from_") or date(end.year, 1, 1)
        try:
            start, end, day = resolve_period(start, end, day, today)
        except PeriodError as exc:
            field = {"from": "from_"}.get(exc.field, exc.field)
            raise ValidationError(_naming(field, exc.field, exc.message), field=field) from None
        draft = review_draft(self._models().values(), start, end, day)
        if format == "md":
            return render_markdown(draft, cite=cite, short=short)
        if format == "text":
            return render_text(draft, cite=cite, short=short)
        return shorten(draft) if short else draft

    def rejected(self) -> list[Event]:
        """Events the server refused for good, with ``code`` and ``message``; never pushed again."""
        return self._store.rejected()

    def status(self) -> Status:
        store = self._store
        counts = store.counts()
        last_sync = store.get("last_sync")
        failure = store.sync_failure()
        return Status(
            path=store.path,
            device_id=store.device_id,
            server=self.server,
            cursor=store.cursor,
            epoch=store.get("epoch"),
            last_sync=None if last_sync is None else schema.parse_timestamp(last_sync),
            sync_error_code=failure["sync_error_code"],
            sync_error=failure["sync_error"],
            sync_error_at=failure["sync_error_at"],
            account=store.account(),
            **counts,
        )

    # -- sync --------------------------------------------------------------------

    def _transport(self) -> Transport:
        from client_sdk._transport import Transport

        if self._http is None:
            if not self.server:
                raise ConfigurationError(
                    "No server to sync with: pass server='https://...' to Client() or set WINLEDGER_SERVER."
                )
            if not self._token:
                raise ConfigurationError(
                    "No token to sync with: pass token=... to Client() or set WINLEDGER_TOKEN."
                )
            self._http = Transport(self.server, self._token, **self._http_options)
        return self._http

    def sync(self) -> SyncReport:
        """Push the outbox and pull until the server has nothing more; safe to interrupt and re-run.

        Raises ``ConfigurationError`` without a server or token, ``AuthError``
        on 401, ``AccountMismatchError`` when the token is another account's
        or the server another one than the journal's (nothing is synced), and
        another ``SyncError`` when the server stays unreachable or answers out
        of protocol; what was answered before is kept.
        """
        from client_sdk._sync import run_sync

        try:
            report = run_sync(
                self._store, self._transport(), batch_size=self._batch_size, page_size=self._page_size
            )
        except SyncError as exc:
            self._store.record_sync_failure(_failure_code(exc), str(exc))
            raise
        self._store.record_sync_failure(None)
        return report

    def verify(self) -> bool:
        """Sync, then compare the server's count and digest of the user's events with this store's."""
        from client_sdk._sync import matches_server

        self.sync()
        return matches_server(self._store)


def _failure_code(error: SyncError) -> str:
    """What ``Status.sync_error_code`` says about a failed ``sync()``."""
    if isinstance(error, AuthError):
        return f"token_{error.reason}" if error.reason else "unauthorized"
    if isinstance(error, AccountMismatchError):
        return "account_mismatch"
    if isinstance(error, ServerError):
        return error.code or f"http_{error.status}"
    return "network" if isinstance(error, NetworkError) else "protocol"


def _today() -> date:
    """Today by this machine's clock, in UTC: the default ``as_of``, as on the server."""
    return datetime.now(UTC).date()


def _naming(argument: str, field: str, message: str) -> str:
    """``message`` about ``field``, naming the ``argument`` that carried it first."""
    message = message if message.endswith((".", "!", "?")) else message + "."
    if message.startswith(f"{field} "):
        return argument + message[len(field) :]
    return f"{argument}: {message}"


def _nothing_yet(project: str, day: date) -> str:
    return (
        f"Nothing of project {project!r} was recorded by the end of {day.isoformat()} (UTC): "
        "its first event is dated later."
    )


def _date(value: date | str | None, name: str) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError(f"{name} must be a date or a 'YYYY-MM-DD' string, got {value!r}.", field=name)


def _listed(event: Event | None) -> list[Event]:
    return [] if event is None else [event]


def _moment(when: str) -> datetime | None:
    """The moment of a timestamp, or None when it is not one (the schema then says why)."""
    try:
        return schema.parse_timestamp(when)
    except ValueError:
        return None


def _timestamp(value: When, event_type: str, now_ms: Callable[[], int]) -> str:
    if value is None:
        return schema.format_timestamp(_UNIX_EPOCH + timedelta(milliseconds=now_ms()))
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                f"Cannot append {event_type}: occurred_at {value.isoformat()!r} has no timezone; "
                "use an aware datetime such as datetime.now(timezone.utc).",
                field="$.occurred_at",
            )
        try:
            return schema.format_timestamp(value)
        except ValueError as exc:  # no UTC datetime: year 1 ahead of UTC, year 9999 behind it
            raise ValidationError(
                f"Cannot append {event_type}: occurred_at {exc}.", field="$.occurred_at"
            ) from None
    return value  # a string: the schema checks and normalizes it


def _number(name: str, value: Any) -> Any:
    """Plain floats for the schema (NumPy scalars included); non-finite values refused by name."""
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    try:
        number = float(value)
    except OverflowError:  # an int (or a Fraction) beyond a double's range
        raise ValidationError(
            f"Cannot append metric.observed: `{name}` must be a finite number, got one beyond a "
            "double's range (about 1.8e308).",
            field=f"$.data.{name}",
        ) from None
    if not math.isfinite(number):
        raise ValidationError(
            f"Cannot append metric.observed: `{name}` must be a finite number, got {number!r}.",
            field=f"$.data.{name}",
        )
    return number


def _metric_value(key: Any, value: Any) -> float:
    problem = key_problem("key", key) if isinstance(key, str) else None
    if problem is not None:
        raise Refusal("metric.observed", problem, {"key": "metrics"})
    if not isinstance(key, str) or not re.match(SLUG_PATTERN, key):
        raise ValidationError(
            f"Cannot append metric.observed: the metric key {key!r} must be 1-64 of a-z, 0-9, '_', '.', '-'.",
            field="$.data.key",
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(
            f"Cannot append metric.observed: the value of {key!r} must be a number, got {value!r}.",
            field="$.data.value",
        )
    return float(_number("value", value))
