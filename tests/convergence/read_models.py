"""At quiescence: every read model of the server's routes, byte for byte, against each device's
offline read models and against a fold of the server's log from scratch."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from schema.projections import (
    PROJECTION_VERSION,
    build_models,
    chains_as_of,
    render_markdown,
    resolve_period,
    review_draft,
    summary_of,
    timeline_view,
)
from schema.protocol.readmodels import (
    MetricChainsResponse,
    ProjectsResponse,
    ReviewDraftResponse,
    TimelineResponse,
)
from tests.convergence.checks import AS_OF, PERIODS, READ_MODELS, ServerView, Violation
from tests.convergence.harness import Device


def _encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


def _asdict(value: msgspec.Struct) -> dict[str, Any]:
    return msgspec.structs.asdict(value)


def check_read_models(
    http: httpx.Client, token: str, user: str, devices: Iterable[Device], server: ServerView
) -> None:
    """Every read model of the server's routes, byte for byte, against each device's offline read
    models and against a fold of the server's log from scratch."""
    headers = {"Authorization": f"Bearer {token}"}
    head = len(server.logs.get(user, []))
    tail = {"projection_version": PROJECTION_VERSION, "epoch": server.epoch}

    def get(path: str, **params: Any) -> httpx.Response:
        response = http.get(path, params={"min_seq": head, **params}, headers=headers)
        if response.status_code != 200:
            raise Violation(READ_MODELS, f"GET {path} answered {response.status_code}: {response.text[:200]}")
        as_of_seq = int(response.headers.get("Winledger-As-Of-Seq") or response.json()["as_of_seq"])
        if as_of_seq != head:
            raise Violation(
                READ_MODELS, f"{user}'s read models reflect seq {as_of_seq}, not {head}, after 5 s"
            )
        return response

    listing = get("/v1/projects")
    project_ids = [summary["id"] for summary in listing.json()["projects"]]
    answers: dict[str, bytes] = {"projects": listing.content}
    for project in project_ids:
        answers[f"timeline {project}"] = get(
            f"/v1/projects/{project}/timeline", as_of=AS_OF.isoformat()
        ).content
        answers[f"chains {project}"] = get(
            f"/v1/projects/{project}/metric-chains", as_of=AS_OF.isoformat()
        ).content
    for start, end in PERIODS:
        period = {"from": start.isoformat(), "to": end.isoformat()}
        answers[f"draft {start}"] = get("/v1/review-draft", **period).content
        answers[f"markdown {start}"] = get("/v1/review-draft", format="markdown", **period).content

    models = build_models(server.events(user))
    summaries = sorted((summary_of(m) for key, m in models.items() if key is not None), key=lambda s: s.id)
    summaries.sort(key=lambda s: s.last_activity or "", reverse=True)
    scratch: dict[str, bytes] = {
        "projects": _encode(ProjectsResponse(projects=summaries, as_of_seq=head, **tail))
    }
    for project in project_ids:
        model = models[project]
        view = timeline_view(model, AS_OF)
        scratch[f"timeline {project}"] = _encode(TimelineResponse(**_asdict(view), as_of_seq=head, **tail))
        chains = chains_as_of(model, AS_OF)
        assert chains is not None  # the project has events, all of them dated by AS_OF
        scratch[f"chains {project}"] = _encode(
            MetricChainsResponse(**_asdict(chains), as_of_seq=head, **tail)
        )
    today = datetime.now(UTC).date()
    for start, end in PERIODS:
        # The server draws a period with no as_of as of its end or today, whichever is earlier.
        draft = review_draft(models.values(), *resolve_period(start, end, None, today))
        scratch[f"draft {start}"] = _encode(ReviewDraftResponse(**_asdict(draft), as_of_seq=head, **tail))
        scratch[f"markdown {start}"] = render_markdown(draft).encode()
    _same(answers, scratch, f"{user}'s server", "a rebuild from scratch")

    for device in devices:
        client = device.client
        offline: dict[str, bytes] = {
            "projects": _encode(ProjectsResponse(projects=client.projects(), as_of_seq=head, **tail))
        }
        for project in project_ids:
            view = client.timeline(project, AS_OF)
            offline[f"timeline {project}"] = _encode(
                TimelineResponse(**_asdict(view), as_of_seq=head, **tail)
            )
            chains = client.metric_chains(project, AS_OF)
            offline[f"chains {project}"] = _encode(
                MetricChainsResponse(**_asdict(chains), as_of_seq=head, **tail)
            )
        for start, end in PERIODS:
            draft = client.review_draft(start, end)
            assert not isinstance(draft, str)
            offline[f"draft {start}"] = _encode(ReviewDraftResponse(**_asdict(draft), as_of_seq=head, **tail))
            markdown = client.review_draft(start, end, markdown=True)
            assert isinstance(markdown, str)
            offline[f"markdown {start}"] = markdown.encode()
        _same(answers, offline, f"{user}'s server", f"{device} offline")


def _same(expected: dict[str, bytes], actual: dict[str, bytes], left: str, right: str) -> None:
    for name in expected:
        if expected[name] != actual.get(name):
            a, b = expected[name], actual.get(name, b"<missing>")
            at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
            raise Violation(
                READ_MODELS,
                f"{name}: {left} and {right} differ at byte {at}: "
                f"{a[max(0, at - 60) : at + 60]!r} != {b[max(0, at - 60) : at + 60]!r}",
            )
