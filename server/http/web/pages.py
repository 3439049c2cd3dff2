"""The review pages as HTML: pure functions from read models to ``Markup``.

Every page shares one layout: a nonce'd stylesheet and, on the review page,
a nonce'd script (the Content-Security-Policy allows nothing else), and the
sign-out form carrying the session's CSRF token.
"""

from __future__ import annotations

from datetime import date

from schema.projections import ProjectModel, ProjectSummary, ReviewDraft, TimelineView, stage_label
from schema.projections.models import Claim
from schema.projections.nudges import Nudges
from schema.projections.outline import outline
from server.http.web.markup import Markup, join, render
from server.http.web.sections import chains_section, feedback_section, nudges_section
from server.http.web.svg import (
    LAYOUTS,
    duration,
    lag_rows,
    timeline_svg,
)

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#111827;background:#fafafa}
header{display:flex;gap:1.5em;align-items:center;padding:.6em 1.5em;background:#1f2937;color:#fff}
header a{color:#fff;text-decoration:none;font-weight:600}header form{margin-left:auto}
main{max-width:1000px;margin:1.5em auto;padding:0 1.5em}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.35em .6em;border-bottom:1px solid #e5e7eb;overflow-wrap:break-word}
.muted,.refs{color:#6b7280}.refs{font-size:.8em}.empty{color:#6b7280;font-style:italic}
.error{background:#fee2e2;border:1px solid #fca5a5;padding:.6em 1em;border-radius:6px}
svg text{font-family:system-ui,sans-serif;fill:#111827}svg .tick,svg .note{fill:#6b7280}
svg .evidence{fill:#4b5563}
svg.timeline{display:block;width:100%;height:auto}svg.timeline.narrow{max-width:480px}
.chain-wrap{overflow-x:auto;margin:.5em 0 1.5em}svg.chain{display:block}
svg.chain.narrow{width:100%;height:auto;max-width:380px}
svg.narrow{display:none}
@media (max-width:940px){svg.wide{display:none}svg.narrow{display:block}}
@media (max-width:600px){header{padding:.6em 1em;gap:1em}main{padding:0 1em}
table.cards thead{display:none}table.cards tr{display:block;padding:.5em 0;border-bottom:1px solid #e5e7eb}
table.cards td{display:block;padding:.1em 0;border:0}
table.projects td:not(:first-child){display:inline;color:#6b7280}
table.projects td:nth-child(3)::before{content:" · "}
table.projects td:nth-child(4)::before{content:" · last: "}table.projects td:nth-child(4){white-space:nowrap}
table.metrics td:first-child{font-weight:600}table.metrics .muted{font-weight:400}.draft{padding:.25em 1em}}
textarea{width:100%;min-height:18em;font:13px ui-monospace,monospace;box-sizing:border-box}
.period{display:flex;gap:1em;align-items:end;flex-wrap:wrap}.period label{display:flex;flex-direction:column}
.draft{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:.5em 1.5em}
button,input[type=submit]{cursor:pointer}
"""

# The copy buttons: the Clipboard API where the page may use it, else the text shown and selected (the
# plain text's textarea is hidden until then) for the browser's own copy, or the reader's.
_COPY_SCRIPT = """
const copyStatus = document.getElementById("copy-status");
for (const [button, source, done] of [
  ["copy", "markdown", "Copied."],
  ["copy-text", "text", "Copied as text."],
]) {
  document.getElementById(button).addEventListener("click", async () => {
    const area = document.getElementById(source);
    try {
      await navigator.clipboard.writeText(area.value);
    } catch (error) {
      area.hidden = false;
      area.focus();
      area.select();
      if (!document.execCommand("copy")) { copyStatus.textContent = "Select the text and copy it."; return; }
    }
    copyStatus.textContent = done;
  });
}
"""


_SHARED_HEAD = Markup(
    '<meta name="robots" content="noindex, nofollow, noarchive"><meta name="referrer" content="no-referrer">'
)


def layout(
    title: str,
    body: Markup,
    *,
    nonce: str,
    csrf: str | None = None,
    script: str = "",
    home: str = "/",
    shared: bool = False,
) -> Markup:
    """A page; ``shared``: a page of a shared link (``home`` is its draft), for no search engine to keep
    and with no navigation to the signed-in pages."""
    nav = Markup("")
    if csrf is not None:
        nav = render(
            '<a href="/">Projects</a><a href="/review">Review draft</a>'
            '<form method="post" action="/sign-out"><input type="hidden" name="csrf" value="{csrf}">'
            '<button type="submit">Sign out</button></form>',
            csrf=csrf,
        )
    scripts = render('<script nonce="{nonce}">{code}</script>', nonce=nonce, code=Markup(script))
    return render(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # An empty icon: the browser asks for no /favicon.ico (a 404 on every page).
        '<title>{title} · winledger</title><link rel="icon" href="data:,">{robots}'
        '<style nonce="{nonce}">{css}</style></head>'
        '<body><header><a href="{home}">winledger</a>{nav}</header>'
        "<main>{body}</main>{scripts}</body></html>",
        title=title,
        home=home,
        robots=_SHARED_HEAD if shared else Markup(""),
        nonce=nonce,
        css=Markup(_CSS),
        nav=nav,
        body=body,
        scripts=scripts if script else Markup(""),
    )


def sign_in_page(*, nonce: str, csrf: str, error: str | None = None) -> Markup:
    body = render(
        "<h1>Sign in</h1>{error}"
        "<p>Paste your token: the one <code>winledger admin create-user NAME</code> printed, or another "
        "from <code>winledger admin create-token NAME</code>. "
        "It is exchanged for a session of this browser that lasts 12 hours; the page keeps no copy.</p>"
        '<form method="post" action="/sign-in"><input type="hidden" name="csrf" value="{csrf}">'
        '<label>API token <input type="password" name="token" id="token" autocomplete="off" size="60" '
        'required></label> <button type="submit">Sign in</button></form>',
        error=render('<p class="error" role="alert">{e}</p>', e=error) if error else Markup(""),
        csrf=csrf,
    )
    return layout("Sign in", body, nonce=nonce)


def error_page(status: int, message: str, *, nonce: str, csrf: str | None = None) -> Markup:
    body = render(
        '<h1>{status}</h1><p class="error" role="alert">{message}</p>'
        '<p><a href="/">Back to your projects</a></p>',
        status=status,
        message=message,
    )
    return layout(f"Error {status}", body, nonce=nonce, csrf=csrf)


def projects_page(
    summaries: list[ProjectSummary], *, nonce: str, csrf: str, nudges: Nudges | None = None
) -> Markup:
    if summaries:
        rows = join(
            render(
                '<tr><td><a href="/projects/{id}">{name}</a>{unnamed}</td><td>{kind}</td><td>{stage}</td>'
                "<td>{last}</td></tr>",
                id=summary.id,
                name=summary.name,
                unnamed=Markup(' <span class="muted">(name not synced yet)</span>')
                if not summary.named
                else Markup(""),
                kind=summary.kind or "",
                stage=stage_label(summary.stage),
                last=(summary.last_activity or "")[:10],
            )
            for summary in summaries
        )
        table = render(
            '<table class="projects cards"><thead><tr><th>Project</th><th>Kind</th><th>Stage</th>'
            "<th>Last activity</th></tr>"
            "</thead><tbody>{rows}</tbody></table>",
            rows=rows,
        )
    else:
        table = render(
            '<p class="empty">No projects yet. Capture with <code>winledger project start NAME</code>, '
            "then <code>winledger sync</code>.</p>"
        )
    body = render(
        '<h1>Your projects</h1>{table}<p><a href="/review">Read the review draft →</a></p>{nudges}',
        table=table,
        nudges=nudges_section(nudges) if nudges is not None else Markup(""),
    )
    return layout("Projects", body, nonce=nonce, csrf=csrf)


def project_page(model: ProjectModel, view: TimelineView, *, nonce: str, csrf: str) -> Markup:
    return layout(model.timeline.name, project_body(model, view), nonce=nonce, csrf=csrf)


def project_body(model: ProjectModel, view: TimelineView) -> Markup:
    """A project's page without its layout: the signed-in page's and a shared link's."""
    timeline, chains = model.timeline, model.chains
    facts = [
        part
        for part in (
            timeline.kind and f"{timeline.kind} project",
            timeline.team and f"team: {timeline.team}",
            f"stage: {stage_label(timeline.stage)}",
            view.in_production_days is not None
            and f"in production for {duration(view.in_production_days, view.in_production_months)}"
            f" as of {view.as_of}",
        )
        if part
    ]
    lags = lag_rows(view)
    lag_list = (
        render(
            '<ul class="lags">{items}</ul>',
            items=join(
                render(
                    "<li>{what}: <strong>{how}</strong> ({start} to {end})</li>",
                    what=what,
                    how=how,
                    start=(start or "")[:10],
                    end=(end or "")[:10],
                )
                for what, start, end, how in lags
            ),
        )
        if lags
        else render(
            '<p class="muted">No lag to show yet: a lag needs two of the dates trained, deployed '
            "and first business result.</p>"
        )
    )
    body = render(
        '<h1>{name}</h1><p class="muted">{facts}</p>{summary}'
        "<h2>Timeline</h2>{svg}<h3>From the work to its outcome</h3>{lags}"
        "<h2>Metric chains</h2>{chains}{feedback}",
        name=timeline.name,
        facts=" · ".join(facts),
        summary=render("<p>{s}</p>", s=timeline.summary) if timeline.summary else Markup(""),
        # Both layouts; the stylesheet shows the one that fits the window (a phone's, a desktop's).
        svg=render(
            '<div class="timeline-wrap">{svgs}</div>',
            svgs=join(timeline_svg(view, chains, layout) for layout in LAYOUTS),
        ),
        lags=lag_list,
        chains=chains_section(chains),
        feedback=feedback_section(model),
    )
    return body


def _claims(claims: list[Claim], tag: str = "ul") -> Markup:
    items = join(
        render(
            '<li>{text} <span class="refs">[{refs}]</span></li>',
            text=claim.text,
            refs=", ".join(event_id[-8:] for event_id in claim.event_ids),
        )
        for claim in claims
    )
    return render("<" + tag + ">{items}</" + tag + ">", items=items)


def draft_html(draft: ReviewDraft) -> Markup:
    """The draft as HTML: the same outline (order, headings, sentences) as its Markdown and text."""
    parts: list[Markup] = []
    for block in outline(draft):
        match block.kind:
            case "title" | "meta":
                continue  # the page has its own title and its own "as of" line
            case "heading":
                parts.append(render("<h2>{t}</h2>", t=block.text))
            case "subheading":
                parts.append(render("<h3>{t}</h3>", t=block.text))
            case "emphasis":
                parts.append(render("<p><em>{t}</em></p>", t=block.text))
            case "paragraph":
                sentences = join(
                    render('{text} <span class="refs">[{refs}]</span> ', text=c.text, refs=_refs(c.event_ids))
                    for c in block.claims
                )
                parts.append(
                    render('<p class="story">{s}</p>', s=sentences)
                    if block.claims
                    else render('<p class="empty">{t}</p>', t=block.text)
                )
            case "numbered":
                parts.append(_claims(block.claims, "ol"))
            case "bullets" | "checklist":
                parts.append(_claims(block.claims))
    return join(parts)


def _refs(event_ids: list[str]) -> str:
    return ", ".join(event_id[-8:] for event_id in event_ids)


def review_page(
    draft: ReviewDraft,
    markdown: str,
    *,
    text: str,
    start: date,
    end: date,
    years: list[int],
    nonce: str,
    csrf: str,
) -> Markup:
    period = {"from": start.isoformat(), "to": end.isoformat()}
    as_of = date.fromisoformat(draft.as_of)
    year_links = join(
        (
            render(
                '<a href="/review?year={y}"{current}>{y}</a>',
                y=year,
                current=Markup(' aria-current="page"') if (start, end) == _year(year, as_of) else Markup(""),
            )
            for year in years
        ),
        " · ",
    )
    body = render(
        "<h1>Review draft, {start} to {end}</h1>"
        '<form class="period" method="get" action="/review"><span>Year: {years}</span>'
        '<label>From <input type="date" name="from" value="{start}" required></label>'
        '<label>To <input type="date" name="to" value="{end}" required></label>'
        '<button type="submit">Show this period</button></form>'
        '<p class="muted">As of {as_of}. Each line cites the events it comes from (the last 8 characters '
        'of their ids).</p><div class="draft" id="draft">{draft}</div>'
        '<h2>Markdown</h2><p><button type="button" id="copy">Copy Markdown</button> '
        '<button type="button" id="copy-text">Copy as text</button> '
        '<a id="download" href="/review.md?from={start}&amp;to={end}" download>Download .md</a> '
        '<span id="copy-status" role="status"></span></p>'
        '<textarea id="markdown" readonly spellcheck="false">{markdown}</textarea>'
        # What "Copy as text" copies: the draft as plain text for a review form, no Markdown syntax.
        '<textarea id="text" readonly spellcheck="false" hidden '
        'aria-label="The draft as plain text">{text}</textarea>',
        start=period["from"],
        end=period["to"],
        years=year_links,
        as_of=draft.as_of,
        draft=draft_html(draft),
        markdown=markdown,
        text=text,
    )
    return layout("Review draft", body, nonce=nonce, csrf=csrf, script=_COPY_SCRIPT)


def _year(year: int, as_of: date) -> tuple[date, date]:
    """The period ``year=YYYY`` gives: the year in progress is drawn to ``as_of``."""
    return date(year, 1, 1), min(date(year, 12, 31), as_of)
