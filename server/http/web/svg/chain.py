"""A metric chain, model -> production -> business: a box per metric with its headline, and the evidence
of each link on its arrow; side by side (``wide``) or one under the other (``narrow``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from schema.projections.labels import EVIDENCE_WORDS
from schema.projections.models import Chain, Metric, MetricChains
from server.http.web.markup import Markup, join, render
from server.http.web.svg.text import ASCENT, DESCENT, block_height, line_step, text_lines, wrap
from server.http.web.svg.timeline import COLOURS, LAYER_ROW, claim_text


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
        words=text_lines(words, label_x, round(label_top + ASCENT * _EVIDENCE, 1), _EVIDENCE, "evidence",
                         anchor=anchor),
    )  # fmt: skip


def _box(
    key: str, metric: Metric | None, layer: str | None, x: float, y: float, width: float, height: float,
    contents: list[tuple[list[str], str, int, bool]],
) -> Markup:  # fmt: skip
    colour = COLOURS.get(LAYER_ROW.get(layer or "", ""), "#6b7280")
    if metric is None:
        title = f"{key}: linked, not measured yet"
    else:
        title = f"{metric.label} ({key}): {claim_text(metric.headline)}"
    baseline = y + _PAD + ASCENT * _LAYER
    texts = [
        text_lines([(layer or "unknown layer").upper()], x + _PAD, round(baseline, 1), _LAYER, "layer",
                   bold=True)
    ]  # fmt: skip
    bottom = baseline + DESCENT * _LAYER
    for lines, cls, size, bold in contents:
        baseline = bottom + 5 + ASCENT * size
        texts.append(text_lines(lines, x + _PAD, round(baseline, 1), size, cls, bold=bold))
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
