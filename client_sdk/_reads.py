"""``Client``'s reads: the events it holds, and the read models computed offline with the server's code."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from client_sdk._arguments import day_argument, utc_today
from client_sdk._store import Store
from client_sdk._types import Event
from client_sdk.errors import NotFoundError, ValidationError

# The read models are imported where they are used: an append never pays for them.
if TYPE_CHECKING:
    from schema.projections import MetricChains, ProjectModel, ProjectSummary, ReviewDraft, TimelineView
    from schema.projections.nudges import Nudges

__all__ = ["Reads"]


class Reads:
    """The reads of ``client_sdk.Client``, which holds the store."""

    _store: Store

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

        return by_recent_activity(summary_of(m) for key, m in self._models().items() if key is not None)

    def timeline(self, project: str, as_of: date | str | None = None) -> TimelineView:
        """A project's timeline as of the end of ``as_of`` (default: today in UTC), from the events held here.

        Only events that occurred by the end of that day count. Raises ``NotFoundError`` when the store
        holds no such project, or nothing of it was recorded by then.
        """
        from schema.projections import timeline_view

        day = day_argument(as_of, "as_of") or utc_today()
        view = timeline_view(self._model(project), day)
        if view is None:
            raise NotFoundError(_nothing_yet(project, day))
        return view

    def metric_chains(self, project: str, as_of: date | str | None = None) -> MetricChains:
        """A project's metrics, their defensible headlines, links and chains as of the end of ``as_of``
        (default: today in UTC); ``NotFoundError`` like ``timeline()``."""
        from schema.projections import chains_as_of

        day = day_argument(as_of, "as_of") or utc_today()
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
        today = utc_today()
        day = day_argument(as_of, "as_of")
        end = day_argument(to, "to") or day or today
        start = day_argument(from_, "from_") or date(end.year, 1, 1)
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

    def nudges(self, as_of: date | str | None = None) -> Nudges:
        """What is worth capturing now, as of the end of ``as_of`` (default: today in UTC), from the
        events held here (``schema.projections.nudges``): each with its reason and the one command that
        resolves it."""
        from schema.projections.nudges import nudges

        day = day_argument(as_of, "as_of") or utc_today()
        return nudges(self._models().values(), day)

    def rejected(self) -> list[Event]:
        """Events the server refused for good, with ``code`` and ``message``; never pushed again."""
        return self._store.rejected()


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
