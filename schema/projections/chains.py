"""Metric chains: model quality -> production reality -> business outcome, and defensible numbers.

The headline of a metric commits to its most defensible figure. ``value`` is
the observed level. With a ``baseline`` the claim is the change from it;
without one the value itself is the figure: a lift when its unit is ``%`` or
``pp``, else a level. With an interval, the headline uses the conservative end
(``low`` when higher is better, ``high`` when lower is better) and the interval
goes into the context clause. An interval whose conservative end shows no
improvement over the baseline (or over zero, for a lift) is too wide to claim.
"""

from __future__ import annotations

import itertools

from schema.events import MetricLinked, MetricObserved
from schema.hlc import canonical_order
from schema.projections.models import Chain, Headline, Link, Metric, MetricChains, Observation

EVIDENCE_STRENGTH = ("ab_test", "shadow", "counterfactual", "before_after", "stakeholder_report", "estimate")
LAYER_ORDER = ("model", "production", "business")
LIFT_UNITS = ("%", "pp")
MAX_CHAINS = 64


def format_number(value: float | None, unit: str | None = None) -> str:
    if value is None:
        return "?"
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        text = f"{value / 1_000_000:.3g}M"
    elif magnitude >= 1000:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.4g}"
    if unit in (None, "count"):
        return text
    if unit == "$":
        return f"-${text[1:]}" if text.startswith("-") else f"${text}"
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit}"


def tidy(value: float) -> float:
    """Drop binary noise from a difference (0.8 - 1.6 is -0.8, not -0.8000000000000002)."""
    return float(f"{value:.12g}")


def signed(value: float, unit: str | None) -> str:
    text = format_number(value, unit)
    return text if text.startswith("-") else f"+{text}"


def _key(event: MetricObserved | MetricLinked) -> tuple[str, tuple[int, str, int]]:
    fields = {"clock": event.clock, "device_id": event.device_id, "device_seq": event.device_seq}
    return (event.occurred_at, canonical_order(fields))


def headline(metric_label: str, unit: str | None, direction: str, latest: Observation) -> Headline:
    higher_is_better = direction != "lower_is_better"
    value, baseline, low, high = latest.value, latest.baseline, latest.low, latest.high
    has_interval = False
    conservative = value
    if low is not None and high is not None:
        has_interval = True
        conservative = low if higher_is_better else high
    context = None
    if has_interval:
        context = (
            f"measured {format_number(value, unit)} with an interval of {format_number(low, unit)} to "
            f"{format_number(high, unit)}; the figure is the interval's conservative end"
        )
    reason = None
    if baseline is not None:
        figure = tidy(conservative - baseline)
        change_unit = "pp" if unit == "%" else unit
        improved = figure > 0 if higher_is_better else figure < 0
        relative = ""
        if baseline and unit != "pp":
            relative = f", {signed(round(100 * figure / abs(baseline), 1), '%')} relative"
        text = (
            f"{metric_label}: {signed(figure, change_unit)} "
            f"(from {format_number(baseline, unit)} to {format_number(conservative, unit)}{relative})"
        )
        basis = "change"
        if not improved:
            reason = _no_improvement(
                has_interval, conservative, unit, f"the baseline {format_number(baseline, unit)}"
            )
    elif unit in LIFT_UNITS:
        figure = conservative
        improved = figure > 0 if higher_is_better else figure < 0
        text = f"{metric_label}: {signed(figure, unit)}"
        basis = "lift"
        if not improved:
            reason = _no_improvement(has_interval, conservative, unit, "zero")
    else:
        figure = conservative
        text = f"{metric_label}: {format_number(figure, unit)}"
        basis = "level"
    return Headline(
        figure=figure,
        basis=basis,  # type: ignore[arg-type]
        unit="pp" if basis == "change" and unit == "%" else unit,
        text=text,
        context=context,
        claimable=reason is None,
        collapsed=has_interval and conservative != value,
        reason=reason,
        source_id=latest.id,
    )


def _no_improvement(has_interval: bool, conservative: float, unit: str | None, reference: str) -> str:
    if has_interval:
        return (
            f"too wide to claim: the interval's conservative end, {format_number(conservative, unit)}, "
            f"shows no improvement over {reference}"
        )
    return f"no improvement over {reference}"


def build_chains(
    project_id: str | None, observed: list[MetricObserved], linked: list[MetricLinked]
) -> MetricChains:
    by_key: dict[str, list[MetricObserved]] = {}
    for event in sorted(observed, key=_key):
        by_key.setdefault(event.data.key, []).append(event)
    metrics = [_metric(key, events) for key, events in sorted(by_key.items())]
    layers = {metric.key: metric.layer for metric in metrics}
    links = [
        Link(
            id=event.id,
            occurred_at=event.occurred_at,
            cause=event.data.cause,
            effect=event.data.effect,
            evidence=event.data.evidence,
            note=event.data.note,
        )
        for event in sorted(linked, key=_key)
    ]
    return MetricChains(project_id=project_id, metrics=metrics, links=links, chains=_paths(links, layers))


def _metric(key: str, events: list[MetricObserved]) -> Metric:
    history = [
        Observation(
            id=event.id,
            occurred_at=event.occurred_at,
            value=event.data.value,
            baseline=event.data.baseline,
            low=event.data.low,
            high=event.data.high,
            note=event.data.note,
        )
        for event in events
    ]
    last = events[-1].data
    latest = history[-1]
    label = last.label or key
    direction = last.direction or "higher_is_better"
    interval = [latest.low, latest.high] if latest.low is not None and latest.high is not None else None
    return Metric(
        key=key,
        label=label,
        layer=last.layer,
        unit=last.unit,
        direction=direction,
        history=history,
        latest=latest,
        baseline=latest.baseline,
        delta=None if latest.baseline is None else tidy(latest.value - latest.baseline),
        interval=interval,
        headline=headline(label, last.unit, direction, latest),
    )


def strongest(evidence: list[str]) -> str:
    return min(evidence, key=EVIDENCE_STRENGTH.index)


def _paths(links: list[Link], layers: dict[str, str]) -> list[Chain]:
    """Simple paths from model-layer metrics (and other roots) toward business-layer metrics.

    A cycle is cut where it would revisit a metric.
    """
    edges: dict[tuple[str, str], list[Link]] = {}
    for link in links:
        if link.cause != link.effect:
            edges.setdefault((link.cause, link.effect), []).append(link)
    successors: dict[str, list[str]] = {}
    has_incoming: set[str] = set()
    for cause, effect in sorted(edges):
        successors.setdefault(cause, []).append(effect)
        has_incoming.add(effect)
    nodes = set(layers) | {node for pair in edges for node in pair}
    starts = sorted(key for key in nodes if layers.get(key) == "model")
    starts += sorted(
        key for key in nodes if key not in has_incoming and layers.get(key) not in ("model", "business")
    )
    chains: list[Chain] = []

    def walk(path: list[str]) -> None:
        if len(chains) >= MAX_CHAINS:
            return
        node = path[-1]
        onward = [nxt for nxt in successors.get(node, []) if nxt not in path]
        if layers.get(node) == "business" or not onward:
            chains.append(_chain(path, edges, layers))
            return
        for nxt in onward:
            walk([*path, nxt])

    for start in starts:
        walk([start])
    return chains


def _chain(path: list[str], edges: dict[tuple[str, str], list[Link]], layers: dict[str, str]) -> Chain:
    hops = [edges[pair] for pair in itertools.pairwise(path)]
    best = [min(hop, key=lambda link: EVIDENCE_STRENGTH.index(link.evidence)) for hop in hops]
    return Chain(
        keys=path,
        layers=[layers.get(key) for key in path],
        complete=layers.get(path[-1]) == "business" and len(path) > 1,
        link_ids=[link.id for link in best],
        evidence=[link.evidence for link in best],
    )
