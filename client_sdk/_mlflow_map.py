"""What an MLflow registered model means to the journal (``winledger mlflow import``): pure, from the
values of ``client_sdk._mlflow_read`` and what the last import remembered of the production aliases."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from msgspec import Struct

from client_sdk._mlflow_read import Model, Run, Version, moment

__all__ = ["PRODUCTION_ALIASES", "SHADOW_ALIASES", "Alias", "Proposal", "metric_key", "proposals"]

PRODUCTION_ALIASES = ("champion", "production")
"""Aliases that mean production, with MLflow's stage ``Production`` (more with ``--production-alias``)."""
SHADOW_ALIASES = ("challenger", "shadow")
"""Aliases that mean a shadow deployment (more with ``--shadow-alias``)."""
_LOWER_IS_BETTER = re.compile(
    r"(^|[^a-z])(loss|error|err|rmse|mse|mae|mape|smape|logloss|perplexity|latency)"
)


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


def metric_key(name: str) -> str:
    """A metric key (a slug: a-z, 0-9, ``_ . -``, 1-64, starting with a letter or digit) for an MLflow
    metric name: lower case, any other character made ``_`` (``val/AUC`` is ``val_auc``)."""
    slug = re.sub(r"[^a-z0-9_.-]+", "_", name.lower()).lstrip("_.-")
    return slug[:64].rstrip("_") or "metric"


class Alias(Struct, frozen=True):
    version: int
    at: str
    key: str


def proposals(
    model: Model,
    remembered: dict[str, Alias],
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
                    occurred_at=moment(version.last_updated_ms),
                    milestone="shadow_deployed",
                    note=f"MLflow: {model.name} version {number} has the alias '{alias}'.",
                )
            )
    if since is not None:
        found = [p for p in found if p.occurred_at >= since]
    return sorted(found, key=lambda p: p.occurred_at)


def _trained(model: str, version: Version, run: Run) -> list[Proposal]:
    assert run.end_ms is not None
    at = moment(run.end_ms)
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


def _production(model: str, alias: str, version: Version, before: Alias | None, now: datetime) -> Proposal:
    """``deployed`` for a version given a production alias (or stage), ``rolled_back`` for an alias the
    last import saw on a newer version. MLflow records no time for an alias: the version's last update
    is when it was deployed, unless that is not after the previous deployment (the alias moved to a
    version made earlier): then the moment of this import, which saw the move. When the alias is
    where the last import saw it, the proposal is the one recorded then (its key alone)."""
    if before is not None and before.version == version.version:  # recorded already, under its key
        return Proposal(
            key=before.key, occurred_at=datetime.fromisoformat(before.at), alias=(alias, version.version)
        )
    at = moment(version.last_updated_ms)
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
