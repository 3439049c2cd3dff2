"""Inline SVG drawings of the read models: a project's timeline and its metric chains.

Pure functions from read-model objects to ``Markup``; every piece of user
text goes through ``markup.render`` (escaped), and long text is clipped
before escaping, with the whole of it in a ``<title>`` tooltip.
"""

from __future__ import annotations

from datetime import date, timedelta

from schema.projections import TimelineView, format_number
from schema.projections.models import Chain, Metric, MetricChains, TimelineEntry
from server.web.markup import Markup, join, render

WIDTH = 960
_LEFT = 110  # room for the row labels
_RIGHT = 30
_ROW = 34
_ROWS = ("Milestones", "Model", "Production", "Business", "Feedback", "Notes")
_LAYER_ROW = {"model": "Model", "production": "Production", "business": "Business"}
_COLOURS = {
    "Milestones": "#5b4bb7",
    "Model": "#1f77b4",
    "Production": "#2a9d8f",
    "Business": "#d4820a",
    "Feedback": "#c2410c",
    "Notes": "#6b7280",
}
_EVIDENCE = {
    "ab_test": "A/B test",
    "shadow": "shadow deployment",
    "counterfactual": "counterfactual",
    "before_after": "before/after",
    "stakeholder_report": "stakeholder report",
    "estimate": "estimate",
}


def clip(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _day(timestamp: str) -> date:
    return date.fromisoformat(timestamp[:10])


def _row_of(entry: TimelineEntry, layers: dict[str, str]) -> str | None:
    if entry.type in ("milestone.reached", "project.started", "project.updated"):
        return "Milestones"
    if entry.type == "metric.observed":
        return _LAYER_ROW.get(layers.get(entry.id, ""), "Model")
    if entry.type == "feedback.received":
        return "Feedback"
    if entry.type in ("win.captured", "learning.noted"):
        return "Notes"
    return None  # a metric.linked is drawn in the chains, not on the time axis


class _Axis:
    def __init__(self, first: date, last: date) -> None:
        if last <= first:
            first, last = first - timedelta(days=15), last + timedelta(days=15)
        self.first, self.last = first, last
        self.span = (last - first).days

    def x(self, day: date) -> float:
        return round(_LEFT + (day - self.first).days / self.span * (WIDTH - _LEFT - _RIGHT), 1)

    def ticks(self) -> list[date]:
        months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month
        step = max(1, -(-months // 10))  # at most about ten labels
        ticks: list[date] = []
        year, month = self.first.year, self.first.month
        while True:
            month += 1
            year, month = (year + 1, 1) if month > 12 else (year, month)
            tick = date(year, month, 1)
            if tick > self.last:
                return ticks
            if ((year * 12 + month - 1) % step) == 0:
                ticks.append(tick)


def timeline_svg(view: TimelineView, chains: MetricChains) -> Markup:
    """The timeline on a time axis: a row per kind of entry, production shaded, the lags drawn below."""
    timeline = view.timeline
    layers = {obs.id: metric.layer for metric in chains.metrics for obs in metric.history}
    placed = [(entry, row) for entry in timeline.entries if (row := _row_of(entry, layers))]
    if not placed:
        return render('<p class="empty">Nothing on this project\'s timeline yet.</p>')
    days = [_day(entry.occurred_at) for entry, _ in placed]
    axis = _Axis(min(days), max(days))
    levels = _label_levels(
        [(entry, axis.x(_day(entry.occurred_at))) for entry, row in placed if row == "Milestones"]
    )
    top = 24 + _LABEL_STEP * max(levels.values(), default=0)
    lag_top = top + _ROW * len(_ROWS) + 30
    height = lag_top + len(lag_rows(view)) * 26 + (0 if lag_rows(view) else -20)
    parts: list[Markup] = []
    for period in timeline.production:
        start = axis.x(_day(period.start))
        end = axis.x(min(_day(period.end), axis.last)) if period.end else axis.x(axis.last)
        parts.append(
            render(
                '<rect class="production" x="{x}" y="{y}" width="{w}" height="{h}" fill="#2a9d8f" '
                'fill-opacity="0.08"><title>In production from {start}{until}</title></rect>',
                x=start,
                y=top - 6,
                w=max(1.0, end - start),
                h=_ROW * len(_ROWS),
                start=period.start[:10],
                until=f" to {period.end[:10]}" if period.end else "",
            )
        )
    for index, name in enumerate(_ROWS):
        y = top + index * _ROW + _ROW / 2
        parts.append(
            render(
                '<text x="8" y="{y}" class="row">{name}</text>'
                '<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="#e5e7eb"/>',
                y=y + 4,
                name=name,
                left=_LEFT,
                right=WIDTH - _RIGHT,
            )
        )
    for tick in axis.ticks():
        x = axis.x(tick)
        parts.append(
            render(
                '<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#f1f1f4"/>'
                '<text x="{x}" y="{ty}" class="tick" text-anchor="middle">{label}</text>',
                x=x,
                y1=top - 6,
                y2=top + _ROW * len(_ROWS) - 6,
                ty=top + _ROW * len(_ROWS) + 8,
                label=tick.strftime("%b %Y"),
            )
        )
    for entry, row in placed:
        x, row_top = axis.x(_day(entry.occurred_at)), top + _ROWS.index(row) * _ROW
        parts.append(_marker(entry, row, x, row_top, levels.get(entry.id, 0)))
    parts.append(_lags(view, axis, lag_top))
    return render(
        '<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" '
        'role="img" aria-label="Timeline of {name}">{body}</svg>',
        w=WIDTH,
        h=height,
        name=timeline.name,
        body=join(parts),
    )


_LABEL_STEP = 12  # between the stacked labels of milestones that are close on the axis
_LABEL_CHAR = 5.6  # the width of a label's character, near enough, at its font size


def _label_levels(milestones: list[tuple[TimelineEntry, float]]) -> dict[str, int]:
    """How high to stack each milestone's label so that labels close on the axis never overlap."""
    ends: list[float] = []  # the right end of the last label on each level
    levels: dict[str, int] = {}
    for entry, x in sorted(milestones, key=lambda item: item[1]):
        half = len((entry.milestone or "").replace("_", " ")) * _LABEL_CHAR / 2
        level = next((i for i, end in enumerate(ends) if x - half > end + 4), len(ends))
        if level == len(ends):
            ends.append(0.0)
        ends[level] = x + half
        levels[entry.id] = level
    return levels


def _marker(entry: TimelineEntry, row: str, x: float, row_top: float, level: int = 0) -> Markup:
    y = row_top + _ROW / 2
    colour = _COLOURS[row]
    title = f"{entry.occurred_at[:10]}: {entry.summary}"
    if entry.type == "milestone.reached":
        label = (entry.milestone or "").replace("_", " ")
        return render(
            '<g class="entry milestone" data-id="{id}"><title>{title}</title>'
            '<path d="M{x} {a} L{r} {y} L{x} {b} L{l} {y} Z" fill="{c}"/>'
            '<text x="{x}" y="{ty}" class="mark" text-anchor="middle">{label}</text></g>',
            id=entry.id,
            title=title,
            x=x,
            y=y,
            a=y - 7,
            b=y + 7,
            l=x - 7,
            r=x + 7,
            c=colour,
            ty=y - 10 - _LABEL_STEP * level,
            label=label,
        )
    shape = '<rect x="{l}" y="{a}" width="10" height="10" fill="{c}"/>' if row == "Feedback" else ""
    shape = shape or '<circle cx="{x}" cy="{y}" r="5" fill="{c}"/>'
    return render(
        '<g class="entry" data-id="{id}"><title>{title}</title>' + shape + "</g>",
        id=entry.id,
        title=title,
        x=x,
        y=y,
        l=x - 5,
        a=y - 5,
        c=colour,
    )


def lag_rows(view: TimelineView) -> list[tuple[str, str | None, str | None, str]]:
    """(what, from, to, how long) for each lag between the work and its outcome that is known."""
    t, lags = view.timeline, view.timeline.lags
    rows = []
    for what, start, end, days, months in (
        ("trained → deployed", t.trained_at, t.deployed_at, lags.trained_to_deployed_days,
         lags.trained_to_deployed_months),
        ("deployed → first business result", t.deployed_at, t.first_business_metric_at,
         lags.deployed_to_first_business_metric_days, lags.deployed_to_first_business_metric_months),
        ("trained → first business result", t.trained_at, t.first_business_metric_at,
         lags.trained_to_first_business_metric_days, lags.trained_to_first_business_metric_months),
    ):  # fmt: skip
        if days is not None:
            rows.append((what, start, end, duration(days, months)))
    return rows


def duration(days: int, months: int | None) -> str:
    text = f"{days} day{'s' if days != 1 else ''}"
    return f"{text} ({months} month{'s' if months != 1 else ''})" if months else text


def _lags(view: TimelineView, axis: _Axis, top: float) -> Markup:
    parts: list[Markup] = []
    for index, (what, start, end, how_long) in enumerate(lag_rows(view)):
        assert start is not None and end is not None
        x1, x2 = axis.x(_day(start)), axis.x(_day(end))
        y = top + index * 26
        parts.append(
            render(
                '<g class="lag"><line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#111827" '
                'stroke-width="1.5"/><line x1="{x1}" y1="{a}" x2="{x1}" y2="{b}" stroke="#111827"/>'
                '<line x1="{x2}" y1="{a}" x2="{x2}" y2="{b}" stroke="#111827"/>'
                '<text x="{tx}" y="{ty}" class="lag-label">{what}: {how_long}</text></g>',
                x1=x1,
                x2=x2,
                y=y,
                a=y - 5,
                b=y + 5,
                tx=min(x1, WIDTH - 330),
                ty=y - 7,
                what=what,
                how_long=how_long,
            )
        )
    return join(parts)


_BOX_W, _BOX_H, _GAP = 210, 92, 96


def chain_svg(chain: Chain, chains: MetricChains) -> Markup:
    """One chain, model -> production -> business: a box per metric, the evidence on each arrow."""
    metrics = {metric.key: metric for metric in chains.metrics}
    parts: list[Markup] = []
    for index, key in enumerate(chain.keys):
        x = 4 + index * (_BOX_W + _GAP)
        parts.append(_box(key, metrics.get(key), chain.layers[index], x))
        if index:
            evidence = chain.evidence[index - 1] if index - 1 < len(chain.evidence) else ""
            start = x - _GAP
            parts.append(
                render(
                    '<g class="hop"><line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#374151" '
                    'stroke-width="1.5" marker-end="url(#arrow)"/>'
                    '<text x="{tx}" y="{ty}" class="evidence" text-anchor="middle">{evidence}</text></g>',
                    x1=start + 4,
                    x2=x - 6,
                    y=_BOX_H / 2 + 4,
                    tx=start + _GAP / 2,
                    ty=_BOX_H / 2 - 4,
                    evidence=_EVIDENCE.get(evidence, evidence),
                )
            )
    width = 8 + len(chain.keys) * _BOX_W + (len(chain.keys) - 1) * _GAP
    return render(
        '<svg class="chain" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
        'height="{h}" role="img" aria-label="Metric chain {label}"><defs><marker id="arrow" '
        'viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
        '<path d="M0 0 L10 5 L0 10 Z" fill="#374151"/></marker></defs>{body}</svg>',
        w=width,
        h=_BOX_H + 8,
        label=" → ".join(chain.keys),
        body=join(parts),
    )


def _box(key: str, metric: Metric | None, layer: str | None, x: float) -> Markup:
    colour = _COLOURS.get(_LAYER_ROW.get(layer or "", ""), "#6b7280")
    if metric is None:
        lines = [(key, "name"), ("not measured yet", "value")]
        title = f"{key}: linked, not measured yet"
    else:
        value = format_number(metric.latest.value, metric.unit)
        delta = ""
        if metric.delta is not None:
            sign = "+" if metric.delta >= 0 else ""
            delta = f"{sign}{format_number(metric.delta, 'pp' if metric.unit == '%' else metric.unit)}"
            delta = f"{delta} vs {format_number(metric.baseline, metric.unit)}"
        lines = [(metric.label, "name"), (value, "value"), (delta, "delta")]
        title = f"{metric.label} ({key}): {metric.headline.text}"
    texts = [
        render(
            '<text x="{x}" y="{y}" class="{cls}">{text}</text>',
            x=x + 10,
            y=40 + row * 20,
            cls=cls,
            text=clip(text, 26),
        )
        for row, (text, cls) in enumerate(lines)
        if text
    ]
    return render(
        '<g class="metric" data-key="{key}"><title>{title}</title>'
        '<rect x="{x}" y="4" width="{w}" height="{h}" rx="8" fill="#fff" stroke="{c}" stroke-width="2"/>'
        '<text x="{tx}" y="22" class="layer" fill="{c}">{layer}</text>{texts}</g>',
        key=key,
        title=title,
        x=x,
        w=_BOX_W,
        h=_BOX_H - 4,
        c=colour,
        tx=x + 10,
        layer=(layer or "unknown layer").upper(),
        texts=join(texts),
    )
