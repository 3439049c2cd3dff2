"""``Client``'s appends: one method per event type, each checked for the likely mistakes of
``client_sdk._checks`` before it is stored."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, get_args

import schema
from client_sdk._arguments import UNIX_EPOCH, When, metric_value, moment_of, plain_number, timestamp
from client_sdk._checks import (
    Problem,
    Refusal,
    future_problem,
    payload_problem,
    redaction_problem,
    retraction_problem,
)
from client_sdk._ids import uuid7
from client_sdk._store import Store
from client_sdk._types import Event
from client_sdk.errors import UnrecordedMetricWarning, ValidationError
from schema.redaction import REDACTED
from schema.types import Layer

__all__ = ["Appends"]

_EVENT_ID = {"target": "event_id"}


class Appends:
    """The appends of ``client_sdk.Client``, which holds the store."""

    _store: Store

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
        when = timestamp(occurred_at, event_type, self._store.now_ms)
        moment = None if occurred_at is None else moment_of(when)
        if moment is not None:
            problem = future_problem(moment, UNIX_EPOCH + timedelta(milliseconds=self._store.now_ms()))
            if problem is not None:
                raise Refusal(event_type, problem, names)
        return self._write(event_type, payload, project, when)

    def _write(self, event_type: str, payload: dict[str, Any], project: str | None, occurred_at: When) -> str:
        """Append the event as given, checked by the schema alone (``_append`` checks for mistakes first)."""
        when = timestamp(occurred_at, event_type, self._store.now_ms)
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
        """Record ``project.started``; returns the new project's id (not the event's).

        A name this journal already gives a project (in any case or spacing) is refused: two projects
        of one name cannot be told apart by name afterwards (``winledger milestone NAME ...``)."""
        from client_sdk._names import named_like, project_refs

        same = named_like(name, project_refs(self._store)) if isinstance(name, str) else None
        if same is not None:
            said = (
                f"a project named {same.name!r} already exists ({same.id}, {same.kind}); "
                "record on it, or choose another name"
            )
            raise Refusal("project.started", Problem("name", said.replace("{", "{{").replace("}", "}}")))
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
        data: dict[str, Any] = {name: plain_number(name, number) for name, number in numbers_.items()}
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
        when = timestamp(occurred_at, "milestone.reached", self._store.now_ms)
        if layer not in get_args(Layer):
            raise ValidationError(
                f"Cannot append metric.observed: `layer` must be one of {', '.join(get_args(Layer))}, "
                f"got {layer!r}.",
                field="$.data.layer",
            )
        values = {key: metric_value(key, value) for key, value in (metrics or {}).items()}
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


def _listed(event: Event | None) -> list[Event]:
    return [] if event is None else [event]
