"""The capture commands of ``winledger``: one event each, appended to the local journal with no network.

``win``, ``project start``, ``milestone``, ``metric``, ``feedback``, ``learned``, ``link``, ``retract``
and ``redact`` print one line (what was recorded, "pending sync", and the new id last, easy to copy or
to cut with ``awk '{print $NF}'``); ``project list`` lists the projects.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any, get_args

from client_sdk._cli_args import CommandError, add_command, number, open_client, refused
from client_sdk._client import Client
from client_sdk._names import ProjectRef, describe, project_refs, resolve_event, resolve_project
from client_sdk.errors import NotFoundError, UnrecordedMetricWarning, ValidationError
from schema.types import DirectionV2, Evidence, Layer, Milestone, ProjectKind

_PROJECT_HELP = "the project's name (any case), its id or the start of its id"


def _record(
    args: argparse.Namespace,
    append: Callable[[Client, Any], str],
    what: str,
    arguments: Mapping[str, str],
    project_argument: str | None = None,
    warnings: Callable[[Client, ProjectRef, str], list[str]] | None = None,
) -> int:
    """Resolve the project named by ``project_argument``, append, and print the one-line confirmation,
    then what ``warnings`` finds doubtful in what was recorded (on standard error: it is stored).

    A capture that names a project needs a journal that holds it, so it creates none: a mistyped
    ``--store`` is then an error, not a new empty journal."""
    named = getattr(args, project_argument.lstrip("-").lower()) if project_argument else None
    first = "start a project with `winledger project start NAME --kind KIND`"
    with open_client(args, create=named is None, first=first) as client:
        project: ProjectRef | None = None
        if project_argument is not None:
            project = _project(client, named, project_argument)
        try:
            event_id = append(client, project.id if project else None)
        except ValidationError as exc:
            raise refused(exc, arguments) from None
        doubts = warnings(client, project, event_id) if warnings and project else []
    where = f' for "{project.name or project.id}"' if project else ""
    print(f"Recorded {what}{where}, pending sync: {event_id}")
    for doubt in doubts:
        print(f"{args.prog}: warning: {doubt}", file=sys.stderr)
    return 0


def _project(client: Client, query: str | None, argument: str) -> ProjectRef | None:
    if query is None:
        return None
    refs = project_refs(client._store)  # only the events that name projects: fast on a large journal
    try:
        project_id = resolve_project(query, refs)
    except NotFoundError as exc:
        raise CommandError(str(exc), argument) from None
    return next(ref for ref in refs if ref.id == project_id)


def win(args: argparse.Namespace) -> int:
    source = "voice" if args.voice else "text"
    return _record(
        args,
        lambda c, p: c.capture(args.text, p, source=source, tags=args.tag or (), occurred_at=args.at),
        "win",
        {"text": "TEXT", "tags": "--tag"},
        "--project",
    )


def project_start(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        try:
            project_id = client.start_project(
                args.name, args.kind, summary=args.summary, team=args.team, occurred_at=args.at
            )
        except ValidationError as exc:
            raise refused(
                exc, {"name": "NAME", "kind": "--kind", "summary": "--summary", "team": "--team"}
            ) from None
    print(f"Started project {args.name!r} ({args.kind}), pending sync: {project_id}")
    return 0


def project_list(args: argparse.Namespace) -> int:
    from schema.projections import stage_label  # the read models: loaded by projects() anyway

    with open_client(args, create=False) as client:  # it only reads: a missing journal is not made
        projects = client.projects()
    if not projects:
        print("No projects yet. Start one with: winledger project start NAME --kind model")
        return 0
    rows = [("ID", "KIND", "STAGE", "NAME")] + [
        (p.id, p.kind or "?", stage_label(p.stage), p.name) for p in projects
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])
    return 0


def milestone(args: argparse.Namespace) -> int:
    return _record(
        args,
        lambda c, p: c.milestone(p, args.milestone, args.note, occurred_at=args.at),
        f"milestone {args.milestone}",
        {"milestone": "MILESTONE", "note": "--note"},
        "PROJECT",
    )


_METRIC_ARGUMENTS = {
    "key": "KEY",
    "value": "VALUE",
    "layer": "--layer",
    "label": "--label",
    "unit": "--unit",
    "baseline": "--baseline",
    "low": "--low",
    "high": "--high",
    "direction": "--direction",
    "note": "--note",
    "measure": "--change",
}


def metric(args: argparse.Namespace) -> int:
    if (args.low is None) != (args.high is None):
        raise CommandError("--low and --high go together (the interval's two ends)", "--low/--high")
    options = {name: getattr(args, name) for name in ("label", "unit", "baseline", "low", "high", "note")}
    unit = args.unit or ""
    measure = "change" if args.change else "level"
    said = f"changed by {args.value:+g}" if args.change else f"= {args.value:g}"
    return _record(
        args,
        lambda c, p: c.metric(
            p,
            args.key,
            args.value,
            layer=args.layer,
            direction=args.direction,
            measure=measure,
            occurred_at=args.at,
            **options,
        ),
        f"{args.layer} metric {args.key} {said}{unit}",
        _METRIC_ARGUMENTS,
        "PROJECT",
    )


def feedback(args: argparse.Namespace) -> int:
    return _record(
        args,
        lambda c, p: c.feedback(
            p,
            args.quote,
            source_name=args.source_name,
            source_team=args.team,
            decision=args.decision,
            occurred_at=args.at,
        ),
        "feedback",
        {"quote": "QUOTE", "source_name": "--from", "source_team": "--team", "decision": "--decision"},
        "PROJECT",
    )


def learned(args: argparse.Namespace) -> int:
    kind = "next" if args.next else "learned"
    return _record(
        args,
        lambda c, p: c.learning(args.text, kind, p, occurred_at=args.at),
        "what comes next" if args.next else "learning",
        {"text": "TEXT"},
        "--project",
    )


def link(args: argparse.Namespace) -> int:
    return _record(
        args,
        lambda c, p: _quietly_link(c, p, args),
        f"link {args.cause} -> {args.effect} ({args.evidence})",
        {"cause": "CAUSE", "effect": "EFFECT", "evidence": "--evidence", "note": "--note"},
        "PROJECT",
        lambda client, project, link_id: _unrecorded_metrics(client, project, link_id, args),
    )


def _quietly_link(client: Client, project: str, args: argparse.Namespace) -> str:
    """``link_metrics`` without its Python warning: the command says the same in its own words."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnrecordedMetricWarning)
        return client.link_metrics(
            project, args.cause, args.effect, args.evidence, args.note, occurred_at=args.at
        )


def _unrecorded_metrics(
    client: Client, project: ProjectRef, link_id: str, args: argparse.Namespace
) -> list[str]:
    """The client's warning for each end of the link that names no metric recorded in the project here,
    said with the argument at fault, the closest key and how to take the link back."""
    doubts = []
    for end in client.unrecorded_link_ends(project.id, link_id):
        close = difflib.get_close_matches(end.key, end.known, n=1)
        guess = f"; did you mean {close[0]!r}?" if close else "."
        known = f"its metrics here: {', '.join(end.known)}" if end.known else "it has no metrics here yet"
        name = project.name or project.id
        doubts.append(
            f'argument {end.role.upper()}: no metric {end.key!r} is recorded in "{name}" on this device '
            f"({known}){guess} The link is stored all the same, since the metric may come from another "
            f"device; if the key is wrong, take the link back with `winledger retract {link_id}`."
        )
    return doubts


def _target(client: Client, event_id: str) -> tuple[str, str]:
    """The full id of the event ``EVENT_ID`` names (any unambiguous start of it), and how to name it to the
    person: its type, id and summary when this store holds it (read before it changes)."""
    events = client.events()
    try:
        target = resolve_event(event_id, events)
    except NotFoundError as exc:
        raise CommandError(str(exc), "EVENT_ID") from None
    held = next((e for e in events if e.id == target), None)
    return target, f'{held.type} {target} ("{describe(held)}")' if held else target


def retract(args: argparse.Namespace) -> int:
    with open_client(args, create=False) as client:  # its target must be in the journal
        target, what = _target(client, args.event_id)
        try:
            retraction = client.retract(target, args.reason, occurred_at=args.at)
        except ValidationError as exc:
            raise refused(exc, {"target": "EVENT_ID", "reason": "--reason"}) from None
    print(f"Retracted {what}, pending sync: {retraction}")
    return 0


_REDACT_ARGUMENTS = {"target": "EVENT_ID", "reason": "--reason", "erase_project_name": "--erase-project-name"}


def redact(args: argparse.Namespace) -> int:
    with open_client(args, create=False) as client:  # its target must be in the journal
        target, what = _target(client, args.event_id)
        try:
            redaction = client.redact(
                target, args.reason, erase_project_name=args.erase_project_name, occurred_at=args.at
            )
        except ValidationError as exc:
            raise refused(exc, _REDACT_ARGUMENTS) from None
    print(f"Redacted {what}: its text is gone from this device, pending sync: {redaction}")
    return 0


def add_commands(commands: Any, store: argparse.ArgumentParser, at: argparse.ArgumentParser) -> None:
    both = [store, at]

    p = add_command(commands, "win", win, "capture a win in one line", both)
    p.add_argument("text", metavar="TEXT", help="what happened, in your words")
    p.add_argument("--project", metavar="NAME_OR_ID", help=_PROJECT_HELP)
    p.add_argument("--tag", action="append", metavar="TAG", help="a tag (repeat for several)")
    p.add_argument("--voice", action="store_true", help="the text is a voice transcript")

    project = commands.add_parser("project", help="start a project, or list them")
    actions = project.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    p = add_command(actions, "start", project_start, "start a project (prints its id)", both)
    p.add_argument("name", metavar="NAME", help="the project's name (1-200 characters)")
    p.add_argument("--kind", required=True, choices=get_args(ProjectKind), help="what kind of work it is")
    p.add_argument("--summary", help="a sentence on what it is for")
    p.add_argument("--team", help="the team it is for or with")
    add_command(actions, "list", project_list, "list the projects: id, kind, stage, name", [store])

    p = add_command(commands, "milestone", milestone, "record a milestone of a project", both)
    p.add_argument("project", metavar="PROJECT", help=_PROJECT_HELP)
    p.add_argument("milestone", metavar="MILESTONE", choices=get_args(Milestone), help=_choices(Milestone))
    p.add_argument("--note", help="a note on it")

    _add_metric(commands, both)

    p = add_command(commands, "feedback", feedback, "record what a stakeholder said about a project", both)
    p.add_argument("project", metavar="PROJECT", help=_PROJECT_HELP)
    p.add_argument("quote", metavar="QUOTE", help="what they said")
    p.add_argument("--from", dest="source_name", metavar="NAME", help="who said it")
    p.add_argument("--team", help="their team")
    p.add_argument("--decision", help="what they changed because of it")

    p = add_command(commands, "learned", learned, "note what you learned, or what comes next", both)
    p.add_argument("text", metavar="TEXT", help="the lesson, or with --next the next step")
    p.add_argument("--next", action="store_true", help="it is what comes next, not a lesson")
    p.add_argument("--project", metavar="NAME_OR_ID", help=_PROJECT_HELP)

    p = add_command(commands, "link", link, "record that one metric of a project moved another", both)
    p.add_argument("project", metavar="PROJECT", help=_PROJECT_HELP)
    p.add_argument("cause", metavar="CAUSE", help="the metric key that moved the other, e.g. recall_at_30d")
    p.add_argument("effect", metavar="EFFECT", help="the metric key it moved, e.g. churn_rate")
    p.add_argument("--evidence", required=True, choices=get_args(Evidence), help="how the link is known")
    p.add_argument("--note", help="a note on the evidence")

    _add_corrections(commands, both)


def _add_metric(commands: Any, both: list[argparse.ArgumentParser]) -> None:
    p = add_command(commands, "metric", metric, "record a measured value of a project", both)
    p.add_argument("project", metavar="PROJECT", help=_PROJECT_HELP)
    p.add_argument("key", metavar="KEY", help="the metric's key, e.g. recall_at_30d (a-z, 0-9, _ . -)")
    p.add_argument(
        "value", metavar="VALUE", type=number, help="the value measured (with --change: the change)"
    )
    p.add_argument("--layer", required=True, choices=get_args(Layer), help="where it was measured")
    p.add_argument(
        "--change",
        action="store_true",
        help="VALUE is a change, a lift or a saving (e.g. +3.1 pp of conversion, 14 hours a week saved), "
        "not the level itself (e.g. a conversion of 12.4 %%)",
    )
    p.add_argument("--unit", help="e.g. %%, pp, ms, USD")
    p.add_argument("--baseline", type=number, help="the value before (the model's or process's predecessor)")
    p.add_argument("--low", type=number, help="the interval's low end (with --high)")
    p.add_argument("--high", type=number, help="the interval's high end (with --low)")
    p.add_argument(
        "--direction",
        choices=get_args(DirectionV2),
        help="which way is better: higher_is_better (the default), lower_is_better (a latency, a cost), "
        "or none (neither: an elasticity, a neutral share)",
    )
    p.add_argument("--label", help="a readable name, e.g. 'Recall at 30 days'")
    p.add_argument("--note", help="how it was measured")


def _add_corrections(commands: Any, both: list[argparse.ArgumentParser]) -> None:
    p = add_command(
        commands, "retract", retract, "take back an event (the log keeps it, reviews drop it)", both
    )
    p.add_argument(
        "event_id", metavar="EVENT_ID", help="the event's id, or its start or its last 8 characters"
    )
    p.add_argument("--reason", help="why")

    p = add_command(
        commands,
        "redact",
        redact,
        "erase an event's text everywhere it syncs to (the log keeps that it was there)",
        both,
    )
    p.add_argument(
        "event_id", metavar="EVENT_ID", help="the event's id, or its start or its last 8 characters"
    )
    p.add_argument("--reason", help="why (it is synced too: keep it free of what you erase)")
    p.add_argument(
        "--erase-project-name",
        action="store_true",
        help="allow redacting a project.started or project.updated: the project's name becomes [redacted]",
    )


def _choices(literal: Any) -> str:
    return "one of: " + ", ".join(get_args(literal))
