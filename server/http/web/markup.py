"""Escaping by default: the one way user text reaches HTML or SVG on the review pages.

A ``Markup`` is text that is already safe to place in a document. ``render``
fills a trusted template (a literal in this package) with values, escaping
every value that is not ``Markup`` already, so that no page builds HTML by
raw interpolation. Escaping quotes too makes the same text safe inside a
quoted attribute value, in HTML and in inline SVG alike.
"""

from __future__ import annotations

import html
from collections.abc import Iterable


class Markup(str):
    """Text that is safe to place in HTML or SVG as it is."""

    __slots__ = ()


def escape(value: object) -> Markup:
    """``value`` as text: ``&``, ``<``, ``>``, ``"`` and ``'`` become character references."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def render(template: str, /, **values: object) -> Markup:
    """``template.format(**values)`` with every value escaped unless it is ``Markup`` already."""
    return Markup(template.format(**{name: escape(value) for name, value in values.items()}))


def join(parts: Iterable[object], separator: str = "") -> Markup:
    """The parts escaped (unless ``Markup``) and joined."""
    return Markup(separator.join(escape(part) for part in parts))
