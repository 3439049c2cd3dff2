"""``winledger mlflow import``: the training runs and model promotions of an MLflow tracking store, as
milestones and metrics of the journal.

MLflow is read in three steps, each its own function:

1. ``read_store`` asks MLflow (imported only here, from the ``mlflow`` extra) for the registered models,
   their versions and aliases, and the runs those versions came from, as plain ``Model`` values.
2. ``proposals`` turns one model into what it means to the journal: a finished run of a version is
   ``trained`` with its metrics, a production alias or stage ``deployed``, a shadow alias
   ``shadow_deployed``, a production alias moved back to an older version ``rolled_back``.
3. ``record`` appends each proposal with ``Client``'s own appends (the validation of a typed capture),
   skipping what an earlier import recorded: each proposal has a key (MLflow's run id, model and
   version), remembered in the journal's ``meta`` table with the id of the event it became. An event
   the journal already holds with the same project, type, moment and content counts as recorded too
   (it came from another device's import, or a crash fell between the event and its key).

What the import remembers (``meta`` rows under ``mlflow:``, local to this device, never synced): the keys
of what it recorded, the project each MLflow model maps to, and which version each production alias was
on (so that a move can be told from a first promotion). ``--dry-run`` runs all of it on a scratch copy of
the journal, prints what would be recorded and deletes the copy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from msgspec import Struct

from client_sdk._cli_args import CommandError, add_command, day, open_client
from client_sdk._client import Client
from client_sdk._names import ProjectRef, folded, named_like, project_refs, resolve_project, visible
from client_sdk._store import set_meta
from client_sdk.errors import NotFoundError, ValidationError

__all__ = [
    "PRODUCTION_ALIASES",
    "SHADOW_ALIASES",
    "Model",
    "Proposal",
    "Run",
    "Version",
    "add_commands",
    "metric_key",
    "proposals",
    "read_store",
]

EXTRA = 'pip install "winledger[mlflow]"'
PRODUCTION_ALIASES = ("champion", "production")
"""Aliases that mean production, with MLflow's stage ``Production`` (more with ``--production-alias``)."""
SHADOW_ALIASES = ("challenger", "shadow")
"""Aliases that mean a shadow deployment (more with ``--shadow-alias``)."""
_LOWER_IS_BETTER = re.compile(
    r"(^|[^a-z])(loss|error|err|rmse|mse|mae|mape|smape|logloss|perplexity|latency)"
)
_META = "mlflow:"


class Run(Struct, frozen=True, kw_only=True):
    run_id: str
    name: str | None
    experiment: str
    status: str
    start_ms: int | None
    end_ms: int | None
    metrics: dict[str, float]


class Version(Struct, frozen=True, kw_only=True):
    version: int
    run_id: str | None
    stage: str
    last_updated_ms: int


class Model(Struct, frozen=True, kw_only=True):
    """A registered model of MLflow, with what ``proposals`` needs of it."""

    name: str
    created_ms: int
    versions: list[Version]
    aliases: dict[str, int]
    runs: dict[str, Run]


class Proposal(Struct, frozen=True, kw_only=True):
    """One event the import would record: a ``milestone`` or a model-layer ``metric``."""

    key: str
    """What MLflow thing it records (run id, model, version, alias move), unique per import."""
    occurred_at: datetime
    milestone: str | None = None
    metric: str | None = None
    label: str | None = None
    value: float | None = None
    direction: str | None = None
    note: str | None = None
    alias: tuple[str, int] | None = None
    """For a production alias's event: the alias and the version it is on now (remembered when stored)."""

    def says(self) -> str:
        if self.milestone is not None:
            return f"milestone {self.milestone}"
        return f"model metric {self.metric} = {self.value:g}"


# -- 1. reading MLflow ------------------------------------------------------------------------------


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _mlflow_client(uri: str) -> Any:
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise CommandError(f"reading MLflow needs the mlflow extra: {EXTRA}") from None
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _check_uri(uri: str) -> None:
    """A local store must exist: MLflow would create an empty one at a mistyped path."""
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        path = unquote(uri.split("://", 1)[1])
        path = path[1:] if path.startswith("/") else path  # sqlite:///relative, sqlite:////absolute
        if path and path != ":memory:" and not Path(path).is_file():
            raise CommandError(f"there is no MLflow database at {path} (from {uri})", "--tracking-uri")
    elif parsed.scheme in ("file", ""):
        path = unquote(parsed.path) if parsed.scheme == "file" else uri
        if not Path(path).is_dir():
            raise CommandError(f"there is no MLflow folder at {path} (from {uri})", "--tracking-uri")
        # MLflow 3 refuses its file store unless asked; the import only reads it.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")


def _pages(search: Callable[..., Any], **options: Any) -> Iterator[Any]:
    token = None
    while True:
        page = search(max_results=100, page_token=token, **options)
        yield from page
        token = page.token
        if not token:
            return


def read_store(uri: str, models: Sequence[str] = (), experiments: Sequence[str] = ()) -> list[Model]:
    """The registered models of the tracking store at ``uri`` (those named in ``models``, else all), each
    with the runs its versions came from (those of ``experiments`` only, when some are named)."""
    _check_uri(uri)
    with warnings.catch_warnings():
        # MLflow's dependencies warn of their own deprecations on import; they are not the user's to fix.
        warnings.simplefilter("ignore")
        try:
            from mlflow.exceptions import MlflowException
        except ImportError:
            raise CommandError(f"reading MLflow needs the mlflow extra: {EXTRA}") from None
        client = _mlflow_client(uri)
        try:
            return _read(client, models, experiments)
        except MlflowException as exc:
            raise CommandError(f"MLflow at {uri} answered: {exc.message}", "--tracking-uri") from None


def _read(client: Any, names: Sequence[str], experiments: Sequence[str]) -> list[Model]:
    wanted_experiments: set[str] | None = None
    if experiments:
        wanted_experiments = set()
        for name in experiments:
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise CommandError(f"MLflow has no experiment named {name!r}", "--experiment")
            wanted_experiments.add(experiment.experiment_id)
    if names:
        registered = []
        for name in names:
            found = [m for m in _pages(client.search_registered_models) if m.name == name]
            if not found:
                raise CommandError(f"MLflow has no registered model named {name!r}", "--model")
            registered.extend(found)
    else:
        registered = list(_pages(client.search_registered_models))
    experiment_names: dict[str, str] = {}
    result = []
    for model in registered:
        quote = '"' if "'" in model.name else "'"
        listed = _pages(client.search_model_versions, filter_string=f"name={quote}{model.name}{quote}")
        versions, runs = [], {}
        for mv in listed:
            run = _run(client, mv.run_id, experiment_names) if mv.run_id else None
            if wanted_experiments is not None and (run is None or run[1] not in wanted_experiments):
                continue  # --experiment: only the versions trained in those experiments
            if run is not None:
                runs[run[0].run_id] = run[0]
            versions.append(
                Version(
                    version=int(mv.version),
                    run_id=mv.run_id or None,
                    stage=mv.current_stage or "None",
                    last_updated_ms=int(mv.last_updated_timestamp or mv.creation_timestamp),
                )
            )
        aliases = {alias: int(version) for alias, version in (model.aliases or {}).items()}
        kept = {v.version for v in versions}
        result.append(
            Model(
                name=model.name,
                created_ms=int(model.creation_timestamp),
                versions=sorted(versions, key=lambda v: v.version),
                aliases={alias: version for alias, version in aliases.items() if version in kept},
                runs=runs,
            )
        )
    return result


def _run(client: Any, run_id: str, experiment_names: dict[str, str]) -> tuple[Run, str] | None:
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException:
        return None  # deleted since the version was registered
    experiment_id = run.info.experiment_id
    if experiment_id not in experiment_names:
        experiment_names[experiment_id] = client.get_experiment(experiment_id).name
    info = Run(
        run_id=run.info.run_id,
        name=run.info.run_name or None,
        experiment=experiment_names[experiment_id],
        status=run.info.status,
        start_ms=run.info.start_time,
        end_ms=run.info.end_time,
        metrics=dict(run.data.metrics),
    )
    return info, experiment_id


# -- 2. what it means to the journal ----------------------------------------------------------------


def metric_key(name: str) -> str:
    """A metric key (a slug: a-z, 0-9, ``_ . -``, 1-64, starting with a letter or digit) for an MLflow
    metric name: lower case, any other character made ``_`` (``val/AUC`` is ``val_auc``)."""
    slug = re.sub(r"[^a-z0-9_.-]+", "_", name.lower()).lstrip("_.-")
    return slug[:64].rstrip("_") or "metric"


class _Alias(Struct, frozen=True):
    version: int
    at: str
    key: str


def proposals(
    model: Model,
    remembered: dict[str, _Alias],
    *,
    production: Sequence[str] = PRODUCTION_ALIASES,
    shadow: Sequence[str] = SHADOW_ALIASES,
    since: datetime | None = None,
    now: datetime,
) -> list[Proposal]:
    """What ``model`` means to the journal, given the version each production alias was on at the last
    import (``remembered``, by alias; ``stage:Production`` for the stage)."""
    found: list[Proposal] = []
    versions = {v.version: v for v in model.versions}
    trained: set[str] = set()
    for version in model.versions:
        run = model.runs.get(version.run_id or "")
        if run is None or run.status != "FINISHED" or run.end_ms is None or run.run_id in trained:
            continue
        trained.add(run.run_id)
        found.extend(_trained(model.name, version, run))
    production_names = {name.casefold() for name in production}
    current: dict[str, int] = {
        alias: v for alias, v in model.aliases.items() if alias.casefold() in production_names
    }
    for version in model.versions:
        if version.stage.casefold() == "production":
            current["stage:Production"] = version.version
    for alias, number in sorted(current.items(), key=lambda item: item[1]):
        found.append(_production(model.name, alias, versions[number], remembered.get(alias), now))
    shadow_names = {name.casefold() for name in shadow}
    for alias, number in sorted(model.aliases.items(), key=lambda item: item[1]):
        if alias.casefold() in shadow_names and alias not in current:
            version = versions[number]
            found.append(
                Proposal(
                    key=f"shadow_deployed:{model.name}:{number}",
                    occurred_at=_moment(version.last_updated_ms),
                    milestone="shadow_deployed",
                    note=f"MLflow: {model.name} version {number} has the alias '{alias}'.",
                )
            )
    if since is not None:
        found = [p for p in found if p.occurred_at >= since]
    return sorted(found, key=lambda p: p.occurred_at)


def _trained(model: str, version: Version, run: Run) -> list[Proposal]:
    assert run.end_ms is not None
    at = _moment(run.end_ms)
    named = f" ({run.name})" if run.name else ""
    found = [
        Proposal(
            key=f"trained:{model}:{run.run_id}",
            occurred_at=at,
            milestone="trained",
            note=f"MLflow run {run.run_id}{named} of experiment {run.experiment!r}, "
            f"registered as {model} version {version.version}.",
        )
    ]
    for name, value in sorted(run.metrics.items()):
        found.append(
            Proposal(
                key=f"metric:{model}:{run.run_id}:{name}",
                occurred_at=at,
                metric=metric_key(name),
                label=name[:100],
                value=value,
                direction="lower_is_better" if _LOWER_IS_BETTER.search(name.lower()) else None,
                note=f"The last value logged in MLflow run {run.run_id}.",
            )
        )
    return found


def _production(model: str, alias: str, version: Version, before: _Alias | None, now: datetime) -> Proposal:
    """``deployed`` for a version given a production alias (or stage), ``rolled_back`` for an alias the
    last import saw on a newer version. MLflow records no time for an alias: the version's last update
    is when it was deployed, unless that is not after the previous deployment (the alias moved to a
    version made earlier): then the moment of this import, which saw the move. When the alias is
    where the last import saw it, the proposal is the one recorded then (its key alone)."""
    if before is not None and before.version == version.version:  # recorded already, under its key
        return Proposal(
            key=before.key, occurred_at=datetime.fromisoformat(before.at), alias=(alias, version.version)
        )
    at = _moment(version.last_updated_ms)
    if before is not None and before.version != version.version and at <= datetime.fromisoformat(before.at):
        at = now
    said = "the stage Production" if alias.startswith("stage:") else f"the alias '{alias}'"
    moved = before is not None and before.version != version.version
    if moved and before is not None and version.version < before.version:
        return Proposal(
            key=f"rolled_back:{model}:{before.version}->{version.version}@{before.at}",
            occurred_at=at,
            milestone="rolled_back",
            note=f"MLflow: {said} of {model} moved back from version {before.version} "
            f"to version {version.version}.",
            alias=(alias, version.version),
        )
    since = f"{before.version}@{before.at}->" if moved and before is not None else ""
    return Proposal(
        key=f"deployed:{model}:{since}{version.version}",
        occurred_at=at,
        milestone="deployed",
        note=f"MLflow: {model} version {version.version} has {said}"
        + (f" (moved from version {before.version})." if moved and before is not None else "."),
        alias=(alias, version.version),
    )


# -- 3. recording -----------------------------------------------------------------------------------


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
            moment = proposal.occurred_at.astimezone(UTC).isoformat()
            remembered[f"alias:{model}:{alias}"] = json.dumps(
                {"version": version, "at": moment, "key": proposal.key}
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


def _remembered_aliases(client: Client, model: str) -> dict[str, _Alias]:
    found = {}
    for alias, value in _meta(client, f"{_META}alias:{model}:").items():
        held = json.loads(value)
        found[alias] = _Alias(int(held["version"]), str(held["at"]), str(held["key"]))
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
        project_id = client.start_project(model.name, "model", occurred_at=_moment(min(starts)))
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
