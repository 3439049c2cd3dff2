"""``winledger mlflow import``: the training runs and model promotions of an MLflow tracking store, as
milestones and metrics of the journal.

MLflow is read in three steps, each its own function:

1. ``read_store`` (``client_sdk._mlflow_read``, where MLflow, the ``mlflow`` extra, is imported) asks
   for the registered models, their versions and aliases, and the runs those versions came from.
2. ``proposals`` (``client_sdk._mlflow_map``) turns one model into what it means to the journal: a
   finished run of a version is ``trained`` with its metrics, a production alias or stage ``deployed``,
   a shadow alias ``shadow_deployed``, a production alias moved back to an older version ``rolled_back``.
3. ``record`` (here) appends each proposal with ``Client``'s own appends (the validation of a typed capture),
   skipping what an earlier import recorded: each proposal has a key (MLflow's run id, model and
   version), remembered in the journal's ``meta`` table with the id of the event it became. An event
   the journal already holds with the same project, type, moment and content counts as recorded too
   (it came from another device's import, or a crash fell between the event and its key).

What the import remembers (``meta`` rows under ``mlflow:``, local to this device, never synced): the keys
of what it recorded, the project each MLflow model maps to, and which version each production alias was
on (so that a move can be told from a first promotion). ``--dry-run`` runs all of it on a scratch copy of
the journal, prints what would be recorded and deletes the copy.
"""

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from msgspec import Struct

from client_sdk._cli_args import CommandError, add_command, day, open_client
from client_sdk._client import Client
from client_sdk._mlflow_map import PRODUCTION_ALIASES, SHADOW_ALIASES, Alias, Proposal, proposals
from client_sdk._mlflow_read import Model, moment, read_store
from client_sdk._names import ProjectRef, folded, named_like, project_refs, resolve_project, visible
from client_sdk._store import set_meta
from client_sdk.errors import NotFoundError, ValidationError

__all__ = ["add_commands", "import_command"]

_META = "mlflow:"


# -- recording --------------------------------------------------------------------------------------


def _meta(client: Client, prefix: str) -> dict[str, str]:
    with client._store.snapshot() as conn:
        rows = conn.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        ).fetchall()
    return {str(key)[len(prefix) :]: str(value) for key, value in rows}


def _remember(client: Client, **values: str) -> None:
    with client._store.transaction() as conn:
        set_meta(conn, **{_META + key: value for key, value in values.items()})


def _content(
    event_type: str, project: str | None, occurred_at: datetime, data: dict[str, Any]
) -> tuple[Any, ...]:
    if event_type == "milestone.reached":
        return (project, event_type, occurred_at, data.get("milestone"))
    return (project, event_type, occurred_at, data.get("key"), data.get("layer"), data.get("value"))


def _held(client: Client) -> set[tuple[Any, ...]]:
    events = visible(
        client._store.events(None, False, ("milestone.reached", "metric.observed", "event.retracted"))
    )
    return {
        _content(e.type, e.project_id, e.occurred_at, e.data) for e in events if e.type != "event.retracted"
    }


def _proposed_content(project: str, proposal: Proposal) -> tuple[Any, ...]:
    at = proposal.occurred_at.astimezone(UTC)
    if proposal.milestone is not None:
        return _content("milestone.reached", project, at, {"milestone": proposal.milestone})
    data = {"key": proposal.metric, "layer": "model", "value": proposal.value}
    return _content("metric.observed", project, at, data)


def _append(client: Client, project: str, proposal: Proposal) -> str:
    if proposal.milestone is not None:
        return client.milestone(project, proposal.milestone, proposal.note, occurred_at=proposal.occurred_at)
    assert proposal.metric is not None and proposal.value is not None
    return client.metric(
        project,
        proposal.metric,
        proposal.value,
        layer="model",
        label=proposal.label,
        direction=proposal.direction,
        note=proposal.note,
        occurred_at=proposal.occurred_at,
    )


class _Tally(Struct, kw_only=True):
    recorded: int = 0
    known: int = 0
    refused: int = 0


def record(
    client: Client, project: ProjectRef, proposed: list[Proposal], *, dry_run: bool, model: str
) -> _Tally:
    tally = _Tally()
    done = _meta(client, _META + "done:")
    held = _held(client)
    verb = "Would record" if dry_run else "Recorded"
    name = project.name or project.id
    for proposal in proposed:
        remembered: dict[str, str] = {}
        if proposal.alias is not None:
            alias, version = proposal.alias
            seen_at = proposal.occurred_at.astimezone(UTC).isoformat()
            remembered[f"alias:{model}:{alias}"] = json.dumps(
                {"version": version, "at": seen_at, "key": proposal.key}
            )
        seen = proposal.milestone is None and proposal.metric is None  # an alias where it was
        if seen or proposal.key in done or _proposed_content(project.id, proposal) in held:
            tally.known += 1
            if remembered:
                _remember(client, **remembered)
            continue
        when = proposal.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        try:
            event_id = _append(client, project.id, proposal)
        except ValidationError as exc:
            tally.refused += 1
            print(
                f'Not recorded: {proposal.says()} for "{name}" ({when}), from MLflow {proposal.key}: {exc}',
                file=sys.stderr,
            )
            continue
        tally.recorded += 1
        _remember(client, **remembered, **{f"done:{proposal.key}": event_id})
        done[proposal.key] = event_id
        held.add(_proposed_content(project.id, proposal))
        print(f'{verb} {proposal.says()} for "{name}" at {when}' + ("" if dry_run else f": {event_id}"))
    return tally


def _remembered_aliases(client: Client, model: str) -> dict[str, Alias]:
    found = {}
    for alias, value in _meta(client, f"{_META}alias:{model}:").items():
        held = json.loads(value)
        found[alias] = Alias(int(held["version"]), str(held["at"]), str(held["key"]))
    return found


# -- projects ---------------------------------------------------------------------------------------


def _project(client: Client, model: Model, forced: str | None, dry_run: bool) -> ProjectRef:
    """The project ``model`` maps to: ``--project``, else the one remembered, else the one of the same name
    (any case), else the person's choice in a terminal. The answer is remembered."""
    refs = project_refs(client._store)
    remembered = _meta(client, _META + "project:").get(model.name)
    if forced is not None:
        try:
            project_id = resolve_project(forced, refs)
        except NotFoundError as exc:
            raise CommandError(str(exc), "--project") from None
        chosen = next(ref for ref in refs if ref.id == project_id)
    elif remembered is not None and any(ref.id == remembered for ref in refs):
        return next(ref for ref in refs if ref.id == remembered)
    else:
        same = [ref for ref in refs if folded(ref.name) == folded(model.name)]
        chosen = same[0] if len(same) == 1 else _ask(client, model, same, refs, dry_run)
    _remember(client, **{f"project:{model.name}": chosen.id})
    return chosen


def _ask(
    client: Client, model: Model, same: list[ProjectRef], refs: list[ProjectRef], dry_run: bool
) -> ProjectRef:
    fits = f"fits {len(same)} projects of the journal" if same else "fits no project name of the journal"
    if not sys.stdin.isatty():
        raise CommandError(
            f"the MLflow model {model.name!r} {fits}: name the project with --project NAME_OR_ID "
            "(or run the import in a terminal to choose one; the choice is remembered)",
            "--project",
        )
    choices = same or sorted(refs, key=lambda ref: folded(ref.name))
    can_start = named_like(model.name, refs) is None
    print(f"The MLflow model {model.name!r} {fits}. Record its milestones in:", file=sys.stderr)
    for number, ref in enumerate(choices, 1):
        print(f"  {number}) {ref.name or '(name not synced yet)'}  {ref.id}", file=sys.stderr)
    if can_start:
        print(f"  0) a new project named {model.name!r} (kind model)", file=sys.stderr)
    for _ in range(3):
        print("Number: ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline().strip()
        if answer == "0" and can_start:
            return _start(client, model, dry_run)
        if answer.isdigit() and 1 <= int(answer) <= len(choices):
            return choices[int(answer) - 1]
        if not answer:
            break
    raise CommandError(f"no project chosen for the MLflow model {model.name!r}", "--project")


def _start(client: Client, model: Model, dry_run: bool) -> ProjectRef:
    """A new project for ``model``, started when the model, or its first run, began."""
    starts = [run.start_ms for run in model.runs.values() if run.start_ms] + [model.created_ms]
    try:
        project_id = client.start_project(model.name, "model", occurred_at=moment(min(starts)))
    except ValidationError as exc:
        raise CommandError(f"cannot start a project named {model.name!r}: {exc}", "--project") from None
    said = "Would start" if dry_run else "Started"
    print(f"{said} project {model.name!r} (model)" + ("" if dry_run else f": {project_id}"), file=sys.stderr)
    return ProjectRef(id=project_id, name=model.name, kind="model")


# -- the command ------------------------------------------------------------------------------------


@contextmanager
def _scratch(args: argparse.Namespace) -> Iterator[Client]:
    """A copy of the journal to run a dry run on (an empty journal when there is none yet)."""
    from client_sdk._config import store_path

    folder = tempfile.mkdtemp(prefix="winledger-dry-run-")
    copy = Path(folder) / "journal.db"
    try:
        source = store_path(args.store, create=False)
        if source.is_file():
            src = sqlite3.connect(source.absolute().as_uri() + "?mode=ro", uri=True)
            dst = sqlite3.connect(copy)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        with Client(copy) as client:
            yield client
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def import_command(args: argparse.Namespace) -> int:
    since = None
    if args.since is not None:
        since = datetime.combine(args.since, time()).astimezone()
    models = read_store(args.tracking_uri, args.model or (), args.experiment or ())
    if not models:
        print(f"MLflow at {args.tracking_uri} has no registered model to import.")
        return 0
    production = PRODUCTION_ALIASES + tuple(args.production_alias or ())
    shadow = SHADOW_ALIASES + tuple(args.shadow_alias or ())
    opened = _scratch(args) if args.dry_run else _opened(args)
    total = _Tally()
    now = datetime.now(UTC)
    with opened as client:
        for model in models:
            project = _project(client, model, args.project, args.dry_run)
            proposed = proposals(
                model,
                _remembered_aliases(client, model.name),
                production=production,
                shadow=shadow,
                since=since,
                now=now,
            )
            tally = record(client, project, proposed, dry_run=args.dry_run, model=model.name)
            total.recorded += tally.recorded
            total.known += tally.known
            total.refused += tally.refused
    known = f"; {total.known} already in the journal" if total.known else ""
    if args.dry_run:
        print(f"Dry run: {total.recorded} events would be recorded{known}. Nothing was written.")
    else:
        print(f"Imported {total.recorded} events from MLflow, pending sync{known}.")
    if total.refused:
        raise CommandError(f"{total.refused} events from MLflow were refused and not recorded (see above)")
    return 0


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[Client]:
    # A --project names a project the journal must hold: a mistyped --store is then an error, not a new
    # empty journal (as for a capture that names one).
    first = "start the project with `winledger project start NAME --kind model`"
    with open_client(args, create=args.project is None, first=first) as client:
        yield client


def add_commands(commands: Any, store: argparse.ArgumentParser) -> None:
    mlflow = commands.add_parser("mlflow", help="import training runs and model promotions from MLflow")
    actions = mlflow.add_subparsers(dest="mlflow_command", metavar="ACTION", required=True)
    p = add_command(
        actions,
        "import",
        import_command,
        "record MLflow's finished runs of registered models (trained, with their metrics) and "
        "promotions (deployed, shadow_deployed, rolled_back); importing again adds nothing",
        [store],
    )
    p.add_argument(
        "--tracking-uri",
        required=True,
        metavar="URI",
        help="the MLflow tracking store, e.g. sqlite:///mlflow.db, file:///home/me/mlruns or http://host:5000",
    )
    p.add_argument(
        "--experiment", action="append", metavar="NAME", help="only runs of this experiment (repeat)"
    )
    p.add_argument("--model", action="append", metavar="NAME", help="only this registered model (repeat)")
    p.add_argument(
        "--project",
        metavar="NAME_OR_ID",
        help="record into this project (default: the project named like the model, remembered)",
    )
    p.add_argument(
        "--since", type=day, metavar="DATE", help="only what happened on or after DATE (YYYY-MM-DD)"
    )
    p.add_argument(
        "--production-alias",
        action="append",
        metavar="NAME",
        help="an alias that means production, besides champion and production (repeat)",
    )
    p.add_argument(
        "--shadow-alias",
        action="append",
        metavar="NAME",
        help="an alias that means a shadow deployment, besides challenger and shadow (repeat)",
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be recorded; write nothing")
