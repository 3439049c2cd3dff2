"""Inline SVG drawings of the read models: a project's timeline and its metric chains.

Pure functions from read-model objects to ``Markup``; every piece of user
text goes through ``markup.render`` (escaped). Every figure drawn is a
metric's headline (``schema.projections.chains.headline``, what the draft and
the API state), and every evidence is named in the draft's words
(``EVIDENCE_WORDS``).

Text is laid out here, not by the browser: SVG does not wrap. Its width is
reckoned with the advance widths of DejaVu Sans (``text_width``), the font
``system-ui`` is on Debian and wider than the usual UI fonts, so that a line
that fits here fits on the page. Labels wrap onto as many lines as they need
instead of being cut off, and each drawing comes in two layouts: ``wide``
for a desktop and ``narrow`` for a phone, where the page's stylesheet shows
one and hides the other (the timeline's text would shrink past reading if
one drawing were scaled down to a phone's width).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from schema.projections import TimelineView
from schema.projections.chains import headline
from schema.projections.labels import EVIDENCE_WORDS
from schema.projections.models import Chain, Headline, Metric, MetricChains, TimelineEntry
from server.http.web.markup import Markup, join, render

# -- measuring text ---------------------------------------------------------------------------------

# Advance widths of DejaVu Sans, in thousandths of an em, of the printable ASCII characters from the
# space to the tilde (measured in Chromium at 100 px).
_REGULAR = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636,
    636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 709, 686, 698, 770, 632, 575, 775,
    752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 595, 732, 684, 989, 685, 611, 685, 390,
    337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 344, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 395, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
)  # fmt: skip
_BOLD = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696,
    696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821,
    837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 680, 703, 812, 774, 1103, 771, 724, 725, 457,
    365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 405, 716, 712, 343, 343, 665, 343, 1042, 712, 687,
    716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
)  # fmt: skip
_OTHER = {
    "\u201c": 518,
    "\u201d": 518,
    "\u2018": 318,
    "\u2019": 318,
    "\u00b7": 318,
    "\u2013": 500,
    "\u00e9": 615,
}
_UNKNOWN = 1000  # any other character: as wide as an em, wider than most
_SLACK = 1.04  # another font, another renderer: room to spare
ASCENT, DESCENT = 0.93, 0.24
"""Of a line of text above and below its baseline, in ems (DejaVu Sans: 0.928 and 0.236)."""


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of one line of ``text`` at ``size`` px, a little generously."""
    table = _BOLD if bold else _REGULAR
    total = 0
    for char in text:
        code = ord(char)
        total += table[code - 32] if 32 <= code < 127 else _OTHER.get(char, _UNKNOWN)
    return total * size / 1000 * _SLACK


def wrap(text: str, width: float, size: float, bold: bool = False, max_lines: int | None = None) -> list[str]:
    """``text`` on as few lines as fit in ``width`` (a word longer than a line is broken); past
    ``max_lines`` the last line ends with an ellipsis."""

    def fits(line: str) -> bool:
        return text_width(line, size, bold) <= width

    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        while not fits(word) and len(word) > 1:
            cut = max(1, next(n for n in range(len(word), 0, -1) if fits(word[:n]) or n == 1))
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if max_lines is not None and len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and not fits(last + "…"):
            last = last[:-1].rstrip()
        lines = [*lines[: max_lines - 1], last + "…"]
    return lines or [""]


def clip(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` on one line of ``width``, with an ellipsis where it had to be cut."""
    return wrap(" ".join(text.split()), width, size, bold, max_lines=1)[0]


def _lines(
    lines: list[str], x: float, baseline: float, size: float, cls: str, *, bold: bool = False,
    anchor: str = "start", step: float | None = None,
) -> Markup:  # fmt: skip
    """Lines of text, one ``<text>`` each, the first on ``baseline``."""
    step = step or line_step(size)
    return join(
        render(
            '<text x="{x}" y="{y}" class="{cls}" font-size="{size}"{weight}{anchor}>{text}</text>',
            x=round(x, 1),
            y=round(baseline + index * step, 1),
            cls=cls,
            size=size,
            weight=Markup(' font-weight="700"') if bold else Markup(""),
            anchor=Markup(f' text-anchor="{anchor}"') if anchor != "start" else Markup(""),
            text=line,
        )
        for index, line in enumerate(lines)
    )


def line_step(size: float) -> float:
    """From one baseline to the next: room for the first line's descent and the next one's ascent."""
    return round(size * 1.3, 1)


def block_height(count: int, size: float) -> float:
    """From the top of ``count`` lines to the bottom of the last."""
    return (count - 1) * line_step(size) + (ASCENT + DESCENT) * size if count else 0.0


# -- the timeline -------------------------------------------------------------------------------------


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
_LAYER_ROW = {"model": "Model", "production": "Production", "business": "Business"}
_COLOURS = {
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
        return _LAYER_ROW.get(layers.get(entry.id, ""), "Model")
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
    parts: list[Markup] = []
    for period in timeline.production:
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
        parts.append(_lines([name], 2 if layout.labels_above else 8, label_y, size, "row", bold=True))
    tick_y = round(band_bottom + 4 + ASCENT * size, 1)
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
            _lines([tick.strftime("%b %Y")], min(max(x, half + 2), width - half - 2), tick_y, size, "tick",
                   anchor="middle")
        )  # fmt: skip
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
    colour = _COLOURS[row]
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
            label=_lines([name], _label_x(x, text_width(name, layout.mark), layout), round(label_y, 1),
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
                label=_lines(lines, label_x, round(y + ASCENT * size, 1), size, "lag-label"),
                x1=x1,
                x2=x2,
                y=round(bar, 1),
                a=round(bar - 5, 1),
                b=round(bar + 5, 1),
            )
        )
        y = bar + 12
    return join(parts), (y - 4 if parts else top - 6)


# -- the metric chains ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainLayout:
    name: str
    vertical: bool
    box: int
    """The width of a metric's box."""
    gap: int
    """Between two boxes side by side: room for the arrow and its evidence (wide only)."""


WIDE_CHAIN = ChainLayout("wide", vertical=False, box=210, gap=124)
NARROW_CHAIN = ChainLayout("narrow", vertical=True, box=280, gap=0)
CHAIN_LAYOUTS = (WIDE_CHAIN, NARROW_CHAIN)

_PAD = 10  # inside a box
_LAYER, _NAME, _CLAIM, _NOTE, _EVIDENCE = 10, 12, 13, 11, 11  # font sizes
_MAX_NAME_LINES = 4


def evidence_words(evidence: str) -> str:
    """A link's evidence in the draft's words ("an A/B test", "a before/after comparison")."""
    return EVIDENCE_WORDS.get(evidence, evidence.replace("_", " "))


def _box_lines(key: str, metric: Metric | None, inner: float) -> list[tuple[list[str], str, int, bool]]:
    """A box's text, top to bottom: (lines, class, font size, bold)."""
    if metric is None:
        return [
            (wrap(key, inner, _NAME, bold=True, max_lines=_MAX_NAME_LINES), "name", _NAME, True),
            (["not measured yet"], "note", _NOTE, False),
        ]
    line = metric.headline
    parts = [
        (wrap(metric.label, inner, _NAME, bold=True, max_lines=_MAX_NAME_LINES), "name", _NAME, True),
        (wrap(line.phrase, inner, _CLAIM), "claim", _CLAIM, False),
    ]
    if not line.claimable:
        parts.append((["not claimed (see the table)"], "note", _NOTE, False))
    return parts


def _box_height(parts: list[tuple[list[str], str, int, bool]]) -> float:
    height = _PAD + ASCENT * _LAYER + DESCENT * _LAYER  # the layer's name
    for lines, _cls, size, _bold in parts:
        height += 5 + block_height(len(lines), size)
    return height + _PAD


def chain_svg(chain: Chain, chains: MetricChains, layout: ChainLayout = WIDE_CHAIN) -> Markup:
    """One chain, model -> production -> business: a box per metric with its headline, and the
    evidence of each link on its arrow; side by side (wide) or one under the other (narrow)."""
    metrics = {metric.key: metric for metric in chains.metrics}
    inner = layout.box - 2 * _PAD
    contents = [_box_lines(key, metrics.get(key), inner) for key in chain.keys]
    heights = [_box_height(parts) for parts in contents]
    evidence = [
        evidence_words(chain.evidence[i]) if i < len(chain.evidence) else ""
        for i in range(len(chain.keys) - 1)
    ]
    parts: list[Markup] = []
    if layout.vertical:
        x, y = 4.0, 4.0
        centre = x + layout.box / 2
        label_x = centre + 14
        for index, key in enumerate(chain.keys):
            box_h = heights[index]
            parts.append(
                _box(key, metrics.get(key), chain.layers[index], x, y, layout.box, box_h, contents[index])
            )
            y += box_h
            if index < len(evidence):
                words = wrap(evidence[index], layout.box + 8 - label_x - 4, _EVIDENCE)
                words_h = block_height(len(words), _EVIDENCE)
                length = max(40.0, words_h + 20)
                top = y + (length - words_h) / 2
                parts.append(_hop(words, centre, y + 4, centre, y + length - 4, label_x, top, "start"))
                y += length
        width, height = layout.box + 8, y + 4
    else:
        box_h = max(heights)
        mid = 4 + box_h / 2
        for index, key in enumerate(chain.keys):
            x = 4 + index * (layout.box + layout.gap)
            parts.append(
                _box(key, metrics.get(key), chain.layers[index], x, 4, layout.box, box_h, contents[index])
            )
            if index < len(evidence):
                words = wrap(evidence[index], layout.gap - 20, _EVIDENCE)
                start, end = x + layout.box + 4, x + layout.box + layout.gap - 4
                top = mid - 6 - block_height(len(words), _EVIDENCE)
                parts.append(_hop(words, start, mid, end, mid, (start + end) / 2, top, "middle"))
        width = 8 + len(chain.keys) * layout.box + (len(chain.keys) - 1) * layout.gap
        height = box_h + 8
    return render(
        '<svg class="chain {layout}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
        'height="{h}" role="img" aria-label="Metric chain {label}">{body}</svg>',
        layout=layout.name,
        w=round(width),
        h=round(height),
        label=" → ".join(chain.keys),
        body=join(parts),
    )


def _hop(
    words: list[str], x1: float, y1: float, x2: float, y2: float, label_x: float, label_top: float,
    anchor: str,
) -> Markup:  # fmt: skip
    """An arrow from (x1, y1) to (x2, y2), its head drawn (no marker: ids would repeat on a page), and
    the evidence's words beside it."""
    length = math.hypot(x2 - x1, y2 - y1)
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    back_x, back_y = x2 - 8 * ux, y2 - 8 * uy
    head = [
        (x2, y2),
        (back_x - 4 * uy, back_y + 4 * ux),
        (back_x + 4 * uy, back_y - 4 * ux),
    ]
    return render(
        '<g class="hop"><line x1="{x1}" y1="{y1}" x2="{bx}" y2="{by}" stroke="#374151" stroke-width="1.5"/>'
        '<path d="M{p0} L{p1} L{p2} Z" fill="#374151"/>{words}</g>',
        x1=round(x1, 1),
        y1=round(y1, 1),
        bx=round(back_x, 1),
        by=round(back_y, 1),
        p0=" ".join(str(round(v, 1)) for v in head[0]),
        p1=" ".join(str(round(v, 1)) for v in head[1]),
        p2=" ".join(str(round(v, 1)) for v in head[2]),
        words=_lines(words, label_x, round(label_top + ASCENT * _EVIDENCE, 1), _EVIDENCE, "evidence",
                     anchor=anchor),
    )  # fmt: skip


def _box(
    key: str, metric: Metric | None, layer: str | None, x: float, y: float, width: float, height: float,
    contents: list[tuple[list[str], str, int, bool]],
) -> Markup:  # fmt: skip
    colour = _COLOURS.get(_LAYER_ROW.get(layer or "", ""), "#6b7280")
    if metric is None:
        title = f"{key}: linked, not measured yet"
    else:
        title = f"{metric.label} ({key}): {claim_text(metric.headline)}"
    baseline = y + _PAD + ASCENT * _LAYER
    texts = [
        _lines([(layer or "unknown layer").upper()], x + _PAD, round(baseline, 1), _LAYER, "layer", bold=True)
    ]
    bottom = baseline + DESCENT * _LAYER
    for lines, cls, size, bold in contents:
        baseline = bottom + 5 + ASCENT * size
        texts.append(_lines(lines, x + _PAD, round(baseline, 1), size, cls, bold=bold))
        bottom = baseline + (len(lines) - 1) * line_step(size) + DESCENT * size
    return render(
        '<g class="metric" data-key="{key}"><title>{title}</title>'
        '<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="#fff" stroke="{c}" stroke-width="2"/>'
        "{texts}</g>",
        key=key,
        title=title,
        x=x,
        y=y,
        w=width,
        h=round(height, 1),
        c=colour,
        texts=join(texts),
    )
