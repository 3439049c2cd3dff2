"""The review pages' rendering, without a server: read models in, HTML, SVG and Markdown out, and a
journal full of markup that shows as text in every one of them."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import pytest
from markdown_it import MarkdownIt

from schema.projections import build_models, render_markdown, render_text, review_draft, timeline_view
from schema.projections.labels import EVIDENCE_WORDS
from schema.projections.markdown import text as markdown_text
from server.http.web import pages
from server.http.web.markup import Markup, escape, join, render
from server.http.web.svg import (
    ASCENT,
    CHAIN_LAYOUTS,
    DESCENT,
    LAYOUTS,
    Axis,
    ChainLayout,
    axis_of,
    chain_svg,
    lag_rows,
    text_width,
    timeline_svg,
    wrap,
)
from tests.factories import Device, new_id
from tests.support.web import HOSTILE, MARKUP, assert_only_text, hostile_journal

YEAR = (date(2026, 1, 1), date(2026, 12, 31))


@pytest.fixture(scope="module")
def journal() -> tuple[str, dict[str | None, object]]:
    project, events = hostile_journal()
    return project, build_models(events)  # type: ignore[return-value]


class Drawing:
    """An SVG of the pages, read back: each text with its box as the layout reckons it (``text_width``),
    the metrics' boxes, the arrows' labels and the production shading."""

    _NS = "{http://www.w3.org/2000/svg}"

    def __init__(self, svg: str) -> None:
        root = ET.fromstring(svg)
        _x, _y, self.width, self.height = (float(v) for v in root.attrib["viewBox"].split())
        self.texts = [self._text(el) for el in root.iter(self._NS + "text")]
        self.boxes: dict[str, tuple[tuple[float, float, float, float], list[Any]]] = {}
        for g in root.iter(self._NS + "g"):
            if g.get("class") == "metric":
                rect = g.find(self._NS + "rect")
                assert rect is not None
                x, y = float(rect.attrib["x"]), float(rect.attrib["y"])
                edges = (x, y, x + float(rect.attrib["width"]), y + float(rect.attrib["height"]))
                self.boxes[g.attrib["data-key"]] = (
                    edges,
                    [self._text(el) for el in g.iter(self._NS + "text")],
                )
        self.hop_texts = [
            [self._text(el) for el in g.iter(self._NS + "text")]
            for g in root.iter(self._NS + "g")
            if g.get("class") == "hop"
        ]
        self.hops = [[text for text, *_ in texts] for texts in self.hop_texts]
        self.production = [
            (float(rect.attrib["x"]), float(rect.attrib["x"]) + float(rect.attrib["width"]))
            for rect in root.iter(self._NS + "rect")
            if rect.get("class") == "production"
        ]

    @staticmethod
    def _text(el: ET.Element) -> tuple[str, str, float, float, float, float]:
        text, size = el.text or "", float(el.attrib["font-size"])
        width = text_width(text, size, bold=el.get("font-weight") == "700")
        x, y = float(el.attrib["x"]), float(el.attrib["y"])
        left = {"start": x, "middle": x - width / 2, "end": x - width}[el.get("text-anchor", "start")]
        return text, el.get("class", ""), left, y - ASCENT * size, left + width, y + DESCENT * size

    def lines(self, key: str, cls: str) -> str:
        return " ".join(text for text, c, *_ in self.boxes[key][1] if c == cls)

    def problems(self) -> list[str]:
        def overlap(a: tuple[float, ...], b: tuple[float, ...], margin: float = 0.0) -> bool:
            return min(a[2], b[2]) - max(a[0], b[0]) > -margin and min(a[3], b[3]) - max(a[1], b[1]) > -margin

        found = []
        for index, (text, _c, *edges) in enumerate(self.texts):
            if edges[0] < 0 or edges[1] < 0 or edges[2] > self.width or edges[3] > self.height:
                found.append(f"{text!r} is cut off at the drawing's edge")
            for other, _o, *more in self.texts[index + 1 :]:
                if overlap(tuple(edges), tuple(more)):
                    found.append(f"{text!r} overprints {other!r}")
        for key, (box, texts) in self.boxes.items():
            for text, _c, left, top, right, bottom in texts:
                if left < box[0] + 3 or top < box[1] + 3 or right > box[2] - 3 or bottom > box[3] - 3:
                    found.append(f"{text!r} spills out of the box of {key}")
        for texts in self.hop_texts:
            for text, _c, *edges in texts:
                for key, (box, _texts) in self.boxes.items():
                    if overlap(tuple(edges), box, margin=4):
                        found.append(f"the arrow's {text!r} touches {key}")
        return found


def demo_chain(labels: list[str], evidence: str) -> list[dict[str, Any]]:
    """A project with a chain of four metrics from the model to the business, labelled ``labels``."""
    device, project = Device(), new_id()
    keys = ["m1", "m2", "m3", "m4"]
    figures: list[dict[str, Any]] = [
        {"layer": "model", "value": 78.0, "unit": "%", "baseline": 61.0, "low": 75.0, "high": 81.0},
        {"layer": "production", "value": 23.0, "unit": "%"},
        {"layer": "production", "value": 18.5, "unit": "%", "baseline": 26.0, "direction": "lower_is_better"},
        {"layer": "business", "value": 2_100_000.0, "unit": "$", "low": 1_600_000.0, "high": 2_700_000.0,
         "measure": "change", "direction": "higher_is_better"},
    ]  # fmt: skip
    events = [
        device.event(
            "project.started",
            project_id=project,
            occurred_at="2026-01-05T09:00:00Z",
            data={"name": "Long labels", "kind": "model"},
        )
    ]
    for day, (key, label, figure) in enumerate(zip(keys, labels, figures, strict=True), start=1):
        data = {"key": key, "label": label, **figure}
        at = f"2026-02-{day:02d}T09:00:00Z"
        events.append(device.event("metric.observed", v=2, project_id=project, occurred_at=at, data=data))
    for day, (cause, effect) in enumerate(itertools.pairwise(keys), start=1):
        data = {"cause": cause, "effect": effect, "evidence": evidence}
        at = f"2026-03-{day:02d}T09:00:00Z"
        events.append(device.event("metric.linked", project_id=project, occurred_at=at, data=data))
    return events


def test_render_escapes_every_value_and_trusts_only_markup() -> None:
    assert escape("<a href='x'>&\"") == "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;"
    assert render("<p title={t}>{b}</p>", t='" onclick="x', b="<b>") == (
        "<p title=&quot; onclick=&quot;x>&lt;b&gt;</p>"
    )
    inner = render("<em>{x}</em>", x="<i>")
    assert render("<p>{inner}</p>", inner=inner) == "<p><em>&lt;i&gt;</em></p>"  # escaped once, not twice
    assert join(["<", Markup("<br>")]) == "&lt;<br>"
    assert isinstance(render("{x}", x=1), Markup)


def test_the_project_page_shows_markup_as_text_in_html_and_svg(journal: tuple[str, dict]) -> None:
    project, models = journal
    model = models[project]
    page = pages.project_page(model, timeline_view(model, date(2026, 6, 1)), nonce="n0nce", csrf="c5rf")
    parsed = assert_only_text(page)
    shown = "".join(parsed.text)
    for piece in HOSTILE:
        assert piece in shown  # visible, literally
    # The SVG tooltips carry the whole text too, as text.
    assert f"Churn {MARKUP}" in shown and f"2026-02-01: Milestone trained: {MARKUP}" in shown


def test_the_review_page_and_its_markdown_show_markup_as_text(journal: tuple[str, dict]) -> None:
    _, models = journal
    draft = review_draft(models.values(), *YEAR, YEAR[1])
    markdown, text = render_markdown(draft), render_text(draft)
    page = pages.review_page(
        draft, markdown, text=text, start=YEAR[0], end=YEAR[1], years=[2026, 2025], nonce="n0nce", csrf="c5rf"
    )
    parsed = assert_only_text(page, scripts=1)
    shown = "".join(parsed.text)
    assert f"Learned: {MARKUP}" in shown  # the rendered draft
    assert markdown in shown  # the textarea holds the Markdown exactly
    assert text in shown and MARKUP in text  # and the hidden one the plain text, unescaped
    # The Markdown itself, rendered by a CommonMark renderer that passes raw HTML through: text only.
    rendered = MarkdownIt("commonmark").render(markdown)
    parsed = assert_only_text(rendered)
    assert f"Learned: {MARKUP}" in "".join(parsed.text)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
        ("**bold** [link](http://x)", "\\*\\*bold\\*\\* \\[link\\](http://x)"),
        ("`code` ~~gone~~", "\\`code\\` \\~\\~gone\\~\\~"),
        ("# not a heading", "\\# not a heading"),
        ("1. not a list", "1\\. not a list"),
        ("two\n\nparagraphs", "two paragraphs"),
        ("p99_latency_ms and _emphasis_", "p99_latency_ms and \\_emphasis\\_"),
        ("&lt; stays an ampersand, R&D too", "\\&lt; stays an ampersand, R&D too"),
    ],
)  # fmt: skip
def test_markdown_text_is_escaped_to_render_literally(raw: str, escaped: str) -> None:
    assert markdown_text(raw) == escaped
    rendered = MarkdownIt("commonmark").enable("strikethrough").render(f"- {markdown_text(raw)}")
    assert rendered.startswith("<ul>\n<li>") and "<em>" not in rendered and "<a " not in rendered


def test_the_timeline_puts_each_entry_on_its_row_and_draws_the_lags(journal: tuple[str, dict]) -> None:
    project, models = journal
    model = models[project]
    view = timeline_view(model, date(2026, 6, 1))
    svg = timeline_svg(view, model.chains)
    assert svg.startswith("<svg") and svg.count('class="entry') == 7  # every entry but the link
    assert svg.count('class="entry milestone"') == 2  # trained, deployed (the start is a dot)
    assert 'class="production"' in svg
    assert [(what, how) for what, _start, _end, how in lag_rows(view)] == [
        ("trained → deployed", "28 days"),
        ("deployed → first business result", "31 days (1 month)"),
        ("trained → first business result", "59 days (1 month)"),
    ]
    assert "trained → deployed: 28 days" in svg


def test_a_chain_runs_from_model_to_business_with_each_metrics_headline_and_evidence(
    journal: tuple[str, dict],
) -> None:
    project, models = journal
    chains = models[project].chains
    (chain,) = chains.chains
    metrics = {metric.key: metric for metric in chains.metrics}
    for layout in CHAIN_LAYOUTS:
        svg = chain_svg(chain, chains, layout)
        assert svg.index('data-key="recall"') < svg.index('data-key="saved_rate"')
        assert "MODEL" in svg and "BUSINESS" in svg
        drawn = Drawing(svg)
        # Each box: the whole label, then the headline's phrase (the draft's and the API's), nothing else.
        for key, metric in metrics.items():
            # "alert(1)</script>" is longer than a line: it is broken, not cut off.
            assert drawn.lines(key, "name").replace(" ", "") == metric.label.replace(" ", "")
            assert drawn.lines(key, "claim") == metric.headline.phrase
        assert drawn.lines("saved_rate", "claim") == "rose at least 5 pp from a baseline of 25%"
        assert drawn.lines("recall", "claim") == "went from 0.7 to 0.81 (+0.11, +15.7% relative)"
        assert [" ".join(words) for words in drawn.hops] == ["an A/B test"]  # EVIDENCE_WORDS["ab_test"]
        assert drawn.problems() == []
        assert_only_text(svg)


# The demo year's longest labels and its evidence, as the pages draw them.
LONG_LABELS = [
    "Incremental revenue from recommendations, per year",
    "Weighted absolute percentage error",
    "Churners caught 30 days ahead",
    "Sessions with a recommendation click",
]


@pytest.mark.parametrize("layout", CHAIN_LAYOUTS, ids=lambda layout: layout.name)
@pytest.mark.parametrize("evidence", sorted(EVIDENCE_WORDS))
def test_long_labels_wrap_whole_in_their_boxes_and_no_arrow_label_touches_a_box(
    layout: ChainLayout, evidence: str
) -> None:
    events = demo_chain(LONG_LABELS, evidence)
    chains = build_models(events)[events[0]["project_id"]].chains
    (chain,) = chains.chains
    drawn = Drawing(chain_svg(chain, chains, layout))
    for metric in chains.metrics:
        assert drawn.lines(metric.key, "name") == metric.label  # whole, not "Churners caught 30 days a…"
        assert drawn.lines(metric.key, "claim") == metric.headline.phrase
    assert [" ".join(words) for words in drawn.hops] == [EVIDENCE_WORDS[evidence]] * 3
    assert drawn.problems() == []


def test_text_wraps_within_its_width_and_breaks_a_word_longer_than_a_line() -> None:
    label = "Incremental revenue from recommendations, per year"
    lines = wrap(label, 190, 12, bold=True)
    assert " ".join(lines) == label and len(lines) == 3
    assert all(text_width(line, 12, bold=True) <= 190 for line in lines)
    broken = wrap("accounts_flagged_weekly_in_every_region_of_the_company", 120, 13)
    assert "".join(broken) == "accounts_flagged_weekly_in_every_region_of_the_company"
    assert all(text_width(line, 13) <= 120 for line in broken)
    assert wrap("one two three four five six", 40, 13, max_lines=2)[-1].endswith("…")
    assert text_width("MMM", 10) > text_width("iii", 10) > 0


def test_the_timeline_shades_production_up_to_the_pages_as_of_not_the_last_event(
    journal: tuple[str, dict],
) -> None:
    project, models = journal
    model = models[project]
    view = timeline_view(model, date(2026, 12, 1))  # deployed on 1 March, nothing recorded after April
    for layout in LAYOUTS:
        drawn = Drawing(timeline_svg(view, model.chains, layout))
        (shaded,) = drawn.production
        axis = Axis(date(2026, 1, 5), date(2026, 12, 1), layout)
        assert shaded == pytest.approx((axis.x(date(2026, 3, 1)), axis.x(date(2026, 12, 1))), abs=0.2)
        assert drawn.problems() == []
    # Rolled back, the shading stops there; nothing in production, the axis ends at the last entry.
    assert axis_of(view, [date(2026, 1, 5), date(2026, 4, 6)]).last == date(2026, 12, 1)


def test_milestones_days_apart_get_names_that_never_overprint_nor_leave_the_drawing() -> None:
    """Seven milestones on seven days in a row, stacked; the first and the last at the axis' two ends,
    where a centred name would run off the drawing (the last one did: "experiment concl")."""
    device, project = Device(), new_id()
    names = ["trained", "evaluated", "shadow_deployed", "deployed", "adopted", "rolled_back", "deployed"]
    days = [f"2026-02-{3 + i:02d}" for i in range(len(names))]
    names, days = ["experiment_launched", *names, "experiment_concluded"], ["2026-02-02", *days, "2026-11-30"]
    events = [
        device.event("project.started", project_id=project, occurred_at="2026-02-02T08:00:00Z",
                     data={"name": "Close milestones", "kind": "model"}),
        *(
            device.event("milestone.reached", project_id=project, occurred_at=f"{day}T09:00:00Z",
                         data={"milestone": name})
            for name, day in zip(names, days, strict=True)
        ),
    ]  # fmt: skip
    model = build_models(events)[project]
    view = timeline_view(model, date(2026, 12, 1))
    shown = sorted(name.replace("_", " ") for name in names)
    for layout in LAYOUTS:
        drawn = Drawing(timeline_svg(view, model.chains, layout))
        assert sorted(text for text, cls, *_ in drawn.texts if cls == "mark") == shown
        assert drawn.problems() == []


def test_the_project_page_names_evidence_in_the_drafts_words(journal: tuple[str, dict]) -> None:
    project, models = journal
    model = models[project]
    page = pages.project_page(model, timeline_view(model, date(2026, 6, 1)), nonce="n", csrf="c")
    shown = "".join(assert_only_text(page).text)
    assert f"Attributed to recall {MARKUP} by an A/B test: {MARKUP}." in shown
    assert ">an A/B test</text>" in page and "ab test" not in shown


def test_an_empty_journal_renders_plain_pages() -> None:
    draft = review_draft([], *YEAR, YEAR[1])
    page = pages.review_page(
        draft,
        render_markdown(draft),
        text=render_text(draft),
        start=YEAR[0],
        end=YEAR[1],
        years=[2026],
        nonce="n",
        csrf="c",
    )
    assert "Nothing was recorded in this period." in page
    assert "No projects yet" in pages.projects_page([], nonce="n", csrf="c")


def test_the_project_page_keeps_what_the_author_recorded_as_the_draft_does() -> None:
    """A metric's note, a quote giver's team and whether a learning is a lesson or what comes next were in
    the draft and missing from the page."""
    device, project = Device(), new_id()
    recorded = [
        ("project.started", 1, {"name": "Fraud scorer", "kind": "model"}),
        ("metric.observed", 2, {"key": "chargeback_rate", "value": 0.42, "unit": "%", "layer": "business",
                                "baseline": 0.61, "direction": "lower_is_better", "note": "Q2 against Q1"}),
        ("feedback.received", 1, {"quote": "We stopped the manual review", "source_name": "Dana",
                                  "source_team": "Risk"}),
        ("learning.noted", 1, {"text": "Label delays hide fraud for weeks", "kind": "learned"}),
        ("learning.noted", 1, {"text": "Score refunds too", "kind": "next"}),
    ]  # fmt: skip
    events = [
        device.event(kind, v=v, project_id=project, occurred_at=f"2026-04-0{n + 1}T09:00:00Z", data=data)
        for n, (kind, v, data) in enumerate(recorded)
    ]
    model = build_models(events)[project]
    page = pages.project_page(model, timeline_view(model, date(2026, 6, 1)), nonce="n", csrf="c")  # type: ignore[arg-type]
    shown = " ".join(assert_only_text(page).text)
    assert "How it was measured: Q2 against Q1" in shown
    assert "— Dana, Risk" in shown
    assert "Learned: Label delays hide fraud for weeks" in shown and "Next: Score refunds too" in shown
