"""The review pages' rendering, without a server: read models in, HTML, SVG and Markdown out, and a
journal full of markup that shows as text in every one of them."""

from __future__ import annotations

from datetime import date

import pytest
from markdown_it import MarkdownIt

from schema.projections import build_models, render_markdown, render_text, review_draft, timeline_view
from schema.projections.markdown import text as markdown_text
from server.web import pages
from server.web.markup import Markup, escape, join, render
from server.web.svg import chain_svg, lag_rows, timeline_svg
from tests.support.web import HOSTILE, MARKUP, assert_only_text, hostile_journal

YEAR = (date(2026, 1, 1), date(2026, 12, 31))


@pytest.fixture(scope="module")
def journal() -> tuple[str, dict[str | None, object]]:
    project, events = hostile_journal()
    return project, build_models(events)  # type: ignore[return-value]


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


def test_a_chain_runs_from_model_to_business_with_values_deltas_and_evidence(
    journal: tuple[str, dict],
) -> None:
    project, models = journal
    chains = models[project].chains
    (chain,) = chains.chains
    svg = chain_svg(chain, chains)
    assert svg.index('data-key="recall"') < svg.index('data-key="saved_rate"')
    assert "MODEL" in svg and "BUSINESS" in svg and "A/B test" in svg
    assert "0.81" in svg and "+0.11 vs 0.7" in svg  # value, delta against the baseline
    assert "34%" in svg and "+9 pp vs 25%" in svg
    assert_only_text(svg)


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
