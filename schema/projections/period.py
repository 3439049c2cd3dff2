"""Points in time: the period of a draft, and a read model as of a day.

A draft, timeline or chain "as of" day D is computed only from events that
occurred on or before the end of D (UTC): nothing recorded later shows in it,
and events added later never change it. Corrections are the exception, by
design: a retraction or a redaction removes what it targets from every view,
whatever its own date, because it says the record was wrong, not that
something new happened.
"""

from __future__ import annotations

from datetime import date


class PeriodError(ValueError):
    """A period or ``as_of`` that cannot be drawn; ``field`` names the parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def resolve_period(from_: date, to: date, as_of: date | None, today: date) -> tuple[date, date, date]:
    """The ``(from, to, as_of)`` a draft is drawn for.

    ``as_of`` defaults to the period's last day or ``today``, whichever is earlier, and a period that
    runs past a defaulted ``as_of`` (the year in progress) is drawn to that day: a draft never covers
    days after its ``as_of``. An explicit ``as_of`` before the period's end, or after ``today``, is an
    error, as is a period that starts after it ends or after ``today``.
    """
    if from_ > to:
        raise PeriodError("from", f"The period starts ({from_.isoformat()}) after it ends ({to.isoformat()})")
    if as_of is None:
        as_of = min(to, today)
        if from_ > as_of:
            raise PeriodError(
                "from", f"The period starts ({from_.isoformat()}) after today ({today.isoformat()})"
            )
        return from_, min(to, as_of), as_of
    if as_of > today:
        raise PeriodError(
            "as_of",
            f"as_of {as_of.isoformat()} is after today ({today.isoformat()}): "
            "a draft is drawn as of a day that has happened",
        )
    if to > as_of:
        raise PeriodError(
            "as_of",
            f"as_of {as_of.isoformat()} is before the period's end ({to.isoformat()}): "
            f"a draft as of a day covers a period that ends by then; end the period on {as_of.isoformat()}",
        )
    return from_, to, as_of
