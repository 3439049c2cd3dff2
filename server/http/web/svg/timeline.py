"""A project's timeline on a time axis: a row per kind of entry, production shaded, the lags drawn below;
in a ``wide`` layout for a desktop and a ``narrow`` one for a phone."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from schema.projections import TimelineView
from schema.projections.chains import headline
from schema.projections.models import Headline, Metric, MetricChains, TimelineEntry
from server.http.web.markup import Markup, join, render
from server.http.web.svg.text import ASCENT, DESCENT, block_height, line_step, text_lines, text_width, wrap


@dataclass(frozen=True)
class TimelineLayout:
    """Where a timeline's parts go, in the drawing's own units (its ``viewBox``)."""

    name: str
    width: int
    left: int
    """Where the time axis starts: right of the row labels, or near the edge when they sit above rows."""
    right: int
    row: int
    """The height of a row."""
    size: int
    """The font size of the row labels, the months and the lags."""
    mark: int
    """The font size of a milestone's name."""
    labels_above: bool
    """Each row's name on a line of its own above it (narrow), or left of it (wide)."""


WIDE = TimelineLayout("wide", 960, 118, 26, 34, 12, 11, labels_above=False)
NARROW = TimelineLayout("narrow", 370, 12, 12, 46, 13, 13, labels_above=True)
LAYOUTS = (WIDE, NARROW)

_ROWS = ("Milestones", "Model", "Production", "Business", "Feedback", "Notes")
LAYER_ROW = {"model": "Model", "production": "Production", "business": "Business"}
COLOURS = {
    "Milestones": "#5b4bb7",
    "Model": "#1f77b4",
    "Production": "#2a9d8f",
    "Business": "#d4820a",
    "Feedback": "#c2410c",
    "Notes": "#6b7280",
}


def _day(timestamp: str) -> date:
    return date.fromisoformat(timestamp[:10])


def _row_of(entry: TimelineEntry, layers: dict[str, str]) -> str | None:
    if entry.type in ("milestone.reached", "project.started", "project.updated"):
        return "Milestones"
    if entry.type == "metric.observed":
        return LAYER_ROW.get(layers.get(entry.id, ""), "Model")
    if entry.type == "feedback.received":
        return "Feedback"
    if entry.type in ("win.captured", "learning.noted"):
        return "Notes"
    return None  # a metric.linked is drawn in the chains, not on the time axis


class Axis:
    """Days to x, from ``first`` at ``layout.left`` to ``last`` at the right end of the rows."""

    def __init__(self, first: date, last: date, layout: TimelineLayout = WIDE) -> None:
        if last <= first:
            first, last = first - timedelta(days=15), last + timedelta(days=15)
        self.first, self.last, self.layout = first, last, layout
        self.span = (last - first).days

    @property
    def end(self) -> float:
        return self.layout.width - self.layout.right

    def x(self, day: date) -> float:
        return round(
            self.layout.left + (day - self.first).days / self.span * (self.end - self.layout.left), 1
        )

    def ticks(self) -> list[date]:
        """The first days of months, as many as have room for their labels."""
        per_month = (self.end - self.layout.left) / self.span * 30.44
        room = text_width("May 2026", self.layout.size) + 16
        step = max(1, math.ceil(room / per_month))
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


def axis_of(view: TimelineView, days: list[date], layout: TimelineLayout = WIDE) -> Axis:
    """From the first entry to the last, or to the view's ``as_of`` while the project is in production
    (the shading of the time in production runs to that day, not to the last thing recorded)."""
    last = max(days)
    if any(period.end is None for period in view.timeline.production):
        last = max(last, date.fromisoformat(view.as_of))
    return Axis(min(days), last, layout)


def timeline_svg(view: TimelineView, chains: MetricChains, layout: TimelineLayout = WIDE) -> Markup:
    """The timeline on a time axis: a row per kind of entry, production shaded, the lags drawn below."""
    timeline = view.timeline
    metrics = {obs.id: metric for metric in chains.metrics for obs in metric.history}
    layers = {obs_id: metric.layer for obs_id, metric in metrics.items()}
    placed = [(entry, row) for entry in timeline.entries if (row := _row_of(entry, layers))]
    if not placed:
        return render('<p class="empty">Nothing on this project\'s timeline yet.</p>')
    axis = axis_of(view, [_day(entry.occurred_at) for entry, _ in placed], layout)
    size, row_h, width = layout.size, layout.row, layout.width
    # A row's marks sit on its line; with the names above the rows, the name takes the top of the row
    # (the milestones' name goes above the names of the milestones themselves).
    label_gap = (row_h - size * 1.3) / 2 + 3 if layout.labels_above else 11
    mark_step = line_step(layout.mark)
    milestones = [(entry, axis.x(_day(entry.occurred_at))) for entry, row in placed if row == "Milestones"]
    levels = label_levels(milestones, layout)
    stacked = max(levels.values()) + 1 if levels else 0
    # The first row's line, low enough for everything stacked above it.
    if layout.labels_above:
        first_line = label_gap + stacked * mark_step + ASCENT * size + 4
    else:
        first_line = max(label_gap + (stacked - 1) * mark_step + ASCENT * layout.mark + 4, row_h / 2)
    line_y = [round(first_line + index * row_h, 1) for index in range(len(_ROWS))]
    band_top, band_bottom = line_y[0] - row_h / 2, line_y[-1] + row_h / 2 - (6 if layout.labels_above else 0)
    parts = _production(view, axis, band_top, band_bottom)
    for index, name in enumerate(_ROWS):
        y = line_y[index]
        label_y = y + round(size * 0.35, 1)
        if layout.labels_above:
            label_y = y - label_gap - (stacked * mark_step if name == "Milestones" else 0)
        parts.append(
            render(
                '<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="#e5e7eb"/>',
                y=y,
                left=layout.left,
                right=axis.end,
            )
        )
        parts.append(text_lines([name], 2 if layout.labels_above else 8, label_y, size, "row", bold=True))
    tick_y = round(band_bottom + 4 + ASCENT * size, 1)
    parts += _months(axis, band_top, band_bottom, tick_y)
    for entry, row in placed:
        x, y = axis.x(_day(entry.occurred_at)), line_y[_ROWS.index(row)]
        label_y = y - label_gap - mark_step * levels.get(entry.id, 0)
        parts.append(_marker(entry, row, x, y, label_y, layout, metrics.get(entry.id)))
    lags, height = _lags(view, axis, tick_y + DESCENT * size + 8)
    parts.append(lags)
    return render(
        '<svg class="timeline {layout}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" role="img" aria-label="Timeline of {name}" data-as-of="{as_of}">'
        "{body}</svg>",
        layout=layout.name,
        w=width,
        h=round(height + 4),
        name=timeline.name,
        as_of=view.as_of,
        body=join(parts),
    )


def _production(view: TimelineView, axis: Axis, band_top: float, band_bottom: float) -> list[Markup]:
    """The time in production shaded, to the view's ``as_of`` while the project is still in production."""
    parts: list[Markup] = []
    for period in view.timeline.production:
        start = axis.x(_day(period.start))
        end = axis.x(_day(period.end)) if period.end else axis.x(date.fromisoformat(view.as_of))
        parts.append(
            render(
                '<rect class="production" x="{x}" y="{y}" width="{w}" height="{h}" fill="#2a9d8f" '
                'fill-opacity="0.08"><title>In production from {start}{until}</title></rect>',
                x=start,
                y=round(band_top, 1),
                w=round(max(2.0, end - start), 1),
                h=round(band_bottom - band_top, 1),
                start=period.start[:10],
                until=f" to {period.end[:10]}" if period.end else f", still on {view.as_of}",
            )
        )
    return parts


def _months(axis: Axis, band_top: float, band_bottom: float, tick_y: float) -> list[Markup]:
    """A line across the rows at each tick of the axis, and the month's name under the rows."""
    size, width = axis.layout.size, axis.layout.width
    parts: list[Markup] = []
    for tick in axis.ticks():
        x = axis.x(tick)
        half = text_width(tick.strftime("%b %Y"), size) / 2
        parts.append(
            render(
                '<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#f1f1f4"/>',
                x=x,
                y1=round(band_top, 1),
                y2=round(band_bottom, 1),
            )
        )
        # A month's name stays whole at the drawing's edges.
        parts.append(
            text_lines([tick.strftime("%b %Y")], min(max(x, half + 2), width - half - 2), tick_y, size,
                       "tick", anchor="middle")
        )  # fmt: skip
    return parts


def _milestone_name(entry: TimelineEntry) -> str:
    return (entry.milestone or "").replace("_", " ")


def _label_x(x: float, text_w: float, layout: TimelineLayout) -> float:
    """Where a name centred on ``x`` goes so that it stays whole inside the drawing."""
    half = text_w / 2
    return min(max(x, half + 2), layout.width - half - 2)


def label_levels(
    milestones: list[tuple[TimelineEntry, float]], layout: TimelineLayout = WIDE
) -> dict[str, int]:
    """How high to stack each milestone's name so that names close on the axis never overprint."""
    spans: list[list[tuple[float, float]]] = []
    levels: dict[str, int] = {}
    for entry, x in sorted(milestones, key=lambda item: item[1]):
        if entry.type != "milestone.reached":
            continue
        text_w = text_width(_milestone_name(entry), layout.mark)
        centre = _label_x(x, text_w, layout)
        span = (centre - text_w / 2 - 3, centre + text_w / 2 + 3)
        level = next(
            (i for i, used in enumerate(spans) if all(span[1] < a or span[0] > b for a, b in used)),
            len(spans),
        )
        if level == len(spans):
            spans.append([])
        spans[level].append(span)
        levels[entry.id] = level
    return levels


def _title(entry: TimelineEntry, metric: Metric | None) -> str:
    """An entry's tooltip: its day and summary; a metric's, the headline of that observation."""
    if metric is None:
        return f"{entry.occurred_at[:10]}: {entry.summary}"
    observed = next(obs for obs in metric.history if obs.id == entry.id)
    line = headline(metric.label, metric.unit, metric.direction, observed, observed.measure)
    return f"{entry.occurred_at[:10]}: {claim_text(line)}"


def claim_text(line: Headline) -> str:
    """A headline's whole claim, with how it was measured and why it is not claimed, if it is not."""
    text = line.text
    if line.measured:
        text += f" ({line.measured})"
    if not line.claimable:
        text += f"; not claimed: {line.reason}"
    return text


def _marker(
    entry: TimelineEntry, row: str, x: float, y: float, label_y: float, layout: TimelineLayout,
    metric: Metric | None,
) -> Markup:  # fmt: skip
    colour = COLOURS[row]
    title, day = _title(entry, metric), entry.occurred_at[:10]
    if entry.type == "milestone.reached":
        name = _milestone_name(entry)
        return render(
            '<g class="entry milestone" data-id="{id}" data-day="{day}"><title>{title}</title>'
            '<path d="M{x} {a} L{r} {y} L{x} {b} L{l} {y} Z" fill="{c}"/>{label}</g>',
            id=entry.id,
            day=day,
            title=title,
            x=x,
            y=y,
            a=y - 7,
            b=y + 7,
            l=x - 7,
            r=x + 7,
            c=colour,
            label=text_lines([name], _label_x(x, text_width(name, layout.mark), layout), round(label_y, 1),
                             layout.mark, "mark", anchor="middle"),
        )  # fmt: skip
    shape = '<rect x="{l}" y="{a}" width="10" height="10" fill="{c}"/>' if row == "Feedback" else ""
    shape = shape or '<circle cx="{x}" cy="{y}" r="5" fill="{c}"/>'
    return render(
        '<g class="entry" data-id="{id}" data-day="{day}"><title>{title}</title>' + shape + "</g>",
        id=entry.id,
        day=day,
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


def _lags(view: TimelineView, axis: Axis, top: float) -> tuple[Markup, float]:
    """The lags, each a label over a bar from its start to its end; and the y where they end."""
    layout, size = axis.layout, axis.layout.size
    parts: list[Markup] = []
    y = top
    for what, start, end, how_long in lag_rows(view):
        assert start is not None and end is not None
        x1, x2 = axis.x(_day(start)), axis.x(_day(end))
        lines = wrap(f"{what}: {how_long}", layout.width - 8, size)
        text_w = max(text_width(line, size) for line in lines)
        label_x = min(x1, layout.width - 4 - text_w)
        bar = y + block_height(len(lines), size) + 5
        parts.append(
            render(
                '<g class="lag">{label}<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#111827" '
                'stroke-width="1.5"/><line x1="{x1}" y1="{a}" x2="{x1}" y2="{b}" stroke="#111827"/>'
                '<line x1="{x2}" y1="{a}" x2="{x2}" y2="{b}" stroke="#111827"/></g>',
                label=text_lines(lines, label_x, round(y + ASCENT * size, 1), size, "lag-label"),
                x1=x1,
                x2=x2,
                y=round(bar, 1),
                a=round(bar - 5, 1),
                b=round(bar + 5, 1),
            )
        )
        y = bar + 12
    return join(parts), (y - 4 if parts else top - 6)
