"""Other work by area: the wins recorded outside any project, grouped by their tags."""

from __future__ import annotations

from schema.projections.models import Area, Claim, Note
from schema.projections.reviewed import note_text
from schema.projections.words import day_words, sentence

__all__ = ["AREAS", "OTHER_AREA", "other_work"]

AREAS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "Mentoring and teaching",
        frozenset(
            {
                "mentoring",
                "mentor",
                "teaching",
                "onboarding",
                "hiring",
                "interviewing",
                "interview",
                "coaching",
            }
        ),
    ),
    (
        "Talks and writing",
        frozenset(
            {
                "talk",
                "talks",
                "writing",
                "blog",
                "paper",
                "conference",
                "presentation",
                "docs",
                "documentation",
            }
        ),
    ),
    (
        "Process and tooling",
        frozenset(
            {
                "process",
                "tooling",
                "tools",
                "tool",
                "automation",
                "oncall",
                "on-call",
                "reliability",
                "pipeline",
            }
        ),
    ),
)
OTHER_AREA = "Other"


def other_work(loose: list[Note]) -> list[Area]:
    grouped: dict[str, list[Claim]] = {}
    for note in loose:
        if note.type != "win.captured":
            continue
        tags = {t.lower() for t in note.tags}
        title = next((title for title, words in AREAS if tags & words), OTHER_AREA)
        shown = f" (tags: {', '.join(note.tags)})" if note.tags else ""
        grouped.setdefault(title, []).append(
            Claim(
                text=f"{day_words(note.occurred_at)}: {sentence(note_text(note))}{shown}",
                event_ids=[note.id],
            )
        )
    order = [title for title, _ in AREAS] + [OTHER_AREA]
    return [Area(title=title, wins=grouped[title]) for title in order if title in grouped]
