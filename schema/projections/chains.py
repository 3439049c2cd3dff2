"""Metric chains (model quality -> production reality -> business outcome) and defensible numbers.

A metric's headline commits to one number, stated as it was recorded:

- A **level** (``measure`` ``level``, the default, and every v1 metric) is shown as a level: no sign.
  With a recorded ``baseline`` the claim is the change from it, named as such: "went from 61% to 78%
  (+17 pp)", where both ends are recorded values and the change is arithmetic on them.
- A **change** (``measure`` ``change``: a lift or a saving the author recorded as such) carries a sign.
- With an interval ``low``..``high`` and a direction, the claim is the interval's conservative end,
  stated plainly as a bound ("at least +22%"), never as if it were the value measured; the measured
  point and the interval go to the evidence, once. A metric with ``direction`` ``none`` has no
  conservative end: the measured value is the figure.
- A change whose conservative end shows no improvement (over the baseline, or over zero) is not claimed,
  and the reason says why. A level without a baseline claims no improvement, so it can always be shown.
"""

from __future__ import annotations

import itertools
import re

from schema.projections.models import (
    Bound,
    Chain,
    Headline,
    HeadlineBasis,
    Link,
    Metric,
    MetricChains,
    Observation,
)

EVIDENCE_STRENGTH = ("ab_test", "shadow", "counterfactual", "before_after", "stakeholder_report", "estimate")
LAYER_ORDER = ("model", "production", "business")
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


def readable_key(key: str) -> str:
    """A metric key made readable, for a metric recorded without a label: ``saved_rate`` -> ``Saved rate``."""
    words = re.sub(r"[_.-]+", " ", key).strip()
    return words[:1].upper() + words[1:] if words else key


def change_unit(unit: str | None) -> str | None:
    """The unit of a difference between two levels: percentage points between two percentages."""
    return "pp" if unit == "%" else unit


def headline(
    label: str,
    unit: str | None,
    direction: str | None,
    latest: Observation,
    measure: str = "level",
) -> Headline:
    """The one defensible claim of an observation (see the module's docstring)."""
    value, baseline, low, high = latest.value, latest.baseline, latest.low, latest.high
    neutral = direction == "none"
    lower_is_better = direction == "lower_is_better"
    interval = low is not None and high is not None
    bounded = interval and not neutral
    conservative = optimistic = value
    if bounded:
        assert low is not None and high is not None
        conservative, optimistic = (high, low) if lower_is_better else (low, high)
    bound: Bound | None = None
    reason: str | None = None
    basis: HeadlineBasis
    if measure == "change":
        basis, figure, figure_unit = "change", conservative, unit
        if bounded and conservative != value and _improved(figure, lower_is_better):
            bound = "at_most" if lower_is_better else "at_least"
            phrase = f"{signed(figure, unit)} or {'less' if lower_is_better else 'more'}"
        else:
            phrase = signed(value, unit)
        if not neutral and not _improved(figure, lower_is_better):
            reason = _no_improvement(
                bounded, conservative, _improved(optimistic, lower_is_better), unit, "zero"
            )
    elif baseline is not None:
        basis, figure_unit = "change", change_unit(unit)
        figure = tidy(conservative - baseline)
        if bounded and conservative != value:
            bound = "at_least"
        phrase = _from_baseline(value, baseline, figure, unit, bound is not None, lower_is_better)
        if not neutral and not _improved(figure, lower_is_better):
            reason = _no_improvement(
                bounded,
                conservative,
                _improved(tidy(optimistic - baseline), lower_is_better),
                unit,
                f"the baseline {format_number(baseline, unit)}",
            )
    else:
        basis, figure, figure_unit = "level", conservative, unit
        if bounded and conservative != value:
            bound = "at_most" if lower_is_better else "at_least"
            phrase = f"stood at {format_number(figure, unit)} or {'less' if lower_is_better else 'more'}"
        else:
            phrase = f"stood at {format_number(figure, unit)}"
    bound_claimed = bound is not None and reason is None
    measured = _measured(latest, unit, measure, conservative, bound_claimed) if interval else None
    return Headline(
        figure=figure,
        basis=basis,
        unit=figure_unit,
        text=join_claim(label, phrase),
        phrase=phrase,
        bound=bound,
        measured=measured,
        claimable=reason is None,
        reason=reason,
        source_id=latest.id,
    )


def _from_baseline(
    value: float, baseline: float, figure: float, unit: str | None, bounded: bool, lower_is_better: bool
) -> str:
    """A level's claim against its baseline: the conservative change as a bound where an interval gives
    one (``rose at least 14 pp from a baseline of 61%``), else from A to B with the measured change."""
    figure_unit = change_unit(unit)
    went = f"went from {format_number(baseline, unit)} to {format_number(value, unit)}"
    if bounded:
        if not _improved(figure, lower_is_better):
            return went
        verb = "fell" if lower_is_better else "rose"
        start = format_number(baseline, unit)
        return f"{verb} at least {format_number(abs(figure), figure_unit)} from a baseline of {start}"
    measured_change = tidy(value - baseline)
    relative = (
        f", {signed(round(100 * measured_change / abs(baseline), 1), '%')} relative"
        if baseline and unit not in ("%", "pp")
        else ""
    )
    return f"{went} ({signed(measured_change, figure_unit)}{relative})"


def _measured(
    latest: Observation, unit: str | None, measure: str, conservative: float, bound_claimed: bool
) -> str:
    """What the evidence says of an interval: the measured point, and the ends the claim does not state."""
    value, baseline, low, high = latest.value, latest.baseline, latest.low, latest.high
    assert low is not None and high is not None
    point = signed(value, unit) if measure == "change" else format_number(value, unit)
    ends = signed if measure == "change" else format_number
    against = ""
    if baseline is not None and measure != "change":
        # The claim names the baseline; the evidence adds the measured change, once.
        against = f" ({signed(tidy(value - baseline), change_unit(unit))})"
    if bound_claimed and not against:
        # The claim already states the conservative end: the evidence gives the point and the other end.
        other = low if conservative == high else high
        return (
            f"measured {point}{against}; the claim is the conservative end of an interval "
            f"reaching {ends(other, unit)}"
        )
    return f"measured {point}{against}, with an interval of {ends(low, unit)} to {ends(high, unit)}"


def join_claim(label: str, phrase: str) -> str:
    """A label and a claim's phrase as one clause: ``X stood at 149``, ``X went from``, ``X: +22%``."""
    verb = phrase.split(" ", 1)[0] in ("went", "rose", "fell", "stood")
    return f"{label}{' ' if verb else ': '}{phrase}"


def _improved(figure: float, lower_is_better: bool) -> bool:
    return figure < 0 if lower_is_better else figure > 0


def _no_improvement(
    bounded: bool, conservative: float, either_way: bool, unit: str | None, reference: str
) -> str:
    """Why a figure is not claimed: an interval that reaches both sides of ``reference`` (``either_way``)
    is too wide to tell; one wholly on the wrong side, or a point there, shows no improvement."""
    if bounded and not either_way:
        return f"its whole interval shows no improvement over {reference}"
    if bounded:
        return (
            f"its interval is too wide to claim (the conservative end, {format_number(conservative, unit)}, "
            f"shows no improvement over {reference})"
        )
    return f"it shows no improvement over {reference}"


def metric_label(key: str, history: list[Observation]) -> str:
    """What a metric is called: the latest label its observations carry, else its key made readable."""
    labels = [o.label for o in history if o.label]
    return labels[-1] if labels else readable_key(key)


def metric_of(key: str, history: list[Observation]) -> Metric:
    """A metric from its observations in order: the latest one's label, unit, layer and direction."""
    latest = history[-1]
    labels = [o.label for o in history if o.label]
    label = metric_label(key, history)
    direction = latest.direction or "higher_is_better"
    interval = [latest.low, latest.high] if latest.low is not None and latest.high is not None else None
    return Metric(
        key=key,
        label=label,
        labelled=bool(labels),
        layer=latest.layer,
        unit=latest.unit,
        measure=latest.measure,
        direction=direction,
        history=history,
        latest=latest,
        baseline=latest.baseline,
        delta=_delta(latest),
        interval=interval,
        headline=headline(label, latest.unit, direction, latest, latest.measure),
    )


def _delta(latest: Observation) -> float | None:
    """The change the latest observation shows: a change recorded as such is its value (a baseline beside
    it is the level it started from, not something to subtract); a level's is its distance from its
    baseline, and none without one."""
    if latest.measure == "change":
        return latest.value
    return None if latest.baseline is None else tidy(latest.value - latest.baseline)


def build_chains(
    project_id: str | None, history: dict[str, list[Observation]], links: list[Link]
) -> MetricChains:
    metrics = [metric_of(key, observed) for key, observed in sorted(history.items())]
    layers = {metric.key: metric.layer for metric in metrics}
    return MetricChains(project_id=project_id, metrics=metrics, links=links, chains=_paths(links, layers))


def strongest(evidence: list[str]) -> str:
    return min(evidence, key=EVIDENCE_STRENGTH.index)


def _paths(links: list[Link], layers: dict[str, str]) -> list[Chain]:
    """Simple paths from model-layer metrics (and other roots) toward business-layer metrics, as far as the
    links go: through a business metric that moves another business metric too.

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
        if not onward:  # a business metric that moves another (fewer chargebacks, losses saved) goes on
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
