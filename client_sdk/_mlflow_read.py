"""Reading an MLflow tracking store for ``winledger mlflow import`` (``client_sdk._mlflow``): its registered
models, their versions and aliases, and the runs those versions came from, as plain values. MLflow (the
``mlflow`` extra) is imported only here, when the command runs."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from msgspec import Struct

from client_sdk._cli_args import CommandError

__all__ = ["EXTRA", "Model", "Run", "Version", "moment", "read_store"]

EXTRA = 'pip install "winledger[mlflow]"'


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


# -- reading MLflow ---------------------------------------------------------------------------------


def moment(ms: int) -> datetime:
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
        path = unquote(uri.split("://", 1)[1].split("?", 1)[0])
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
        return None  # gone since the version was registered
    if run.info.lifecycle_stage == "deleted":
        return None  # in MLflow's trash: not a run the person stands by
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
