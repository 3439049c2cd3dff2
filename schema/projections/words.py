"""Words for the draft: dates, durations and plurals as a reader writes them, and clean sentences."""

from __future__ import annotations

import re

from schema.projections.models import DAYS_PER_MONTH

_FILLER = re.compile(r"(?i)\b(?:uh+|um+|uhm+|erm+|hmm+)\b[,.]?\s*")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def day_of(timestamp: str) -> str:
    return timestamp[:10]


def day_words(timestamp: str) -> str:
    """``2026-03-30...`` -> ``30 March 2026``."""
    year, month, day = timestamp[:4], int(timestamp[5:7]), int(timestamp[8:10])
    return f"{day} {_MONTHS[month - 1]} {year}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def months(days: int) -> int:
    return int(days // DAYS_PER_MONTH)


def duration(days: int) -> str:
    """Whole days as the unit a reader would use: days, then weeks, then months (30.44 days)."""
    if days < 14:
        return plural(days, "day")
    if days < 61:
        return plural(days // 7, "week")
    return plural(months(days), "month")


def series(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def lower(label: str) -> str:
    """A label inside a sentence: its first letter lowered unless it starts an acronym (PR-AUC)."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper() and label[1] not in "-0123456789":
        return label[0].lower() + label[1:]
    return label


def sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…”\"'" else text + "."


def clause(text: str) -> str:
    """Text the author wrote, to follow a colon inside a sentence: without its closing full stop."""
    return text.strip().rstrip(".").strip()


def without_fillers(text: str) -> str:
    """A voice transcript without its filler words (uh, um, erm); the event keeps every word."""
    cleaned = _FILLER.sub("", text)
    cleaned = re.sub(r"\s+([,.;:!?])", r"\1", cleaned)
    cleaned = re.sub(r",\s*,", ",", cleaned)
    cleaned = re.sub(r"^[\s,;]+|[\s,;]+$", "", cleaned)
    return re.sub(r"\s{2,}", " ", cleaned) or text
