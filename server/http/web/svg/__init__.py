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

from server.http.web.svg.chain import (
    CHAIN_LAYOUTS,
    NARROW_CHAIN,
    WIDE_CHAIN,
    ChainLayout,
    chain_svg,
    evidence_words,
)
from server.http.web.svg.text import ASCENT, DESCENT, block_height, clip, line_step, text_width, wrap
from server.http.web.svg.timeline import (
    LAYOUTS,
    NARROW,
    WIDE,
    Axis,
    TimelineLayout,
    axis_of,
    claim_text,
    duration,
    label_levels,
    lag_rows,
    timeline_svg,
)

__all__ = [
    "ASCENT",
    "CHAIN_LAYOUTS",
    "DESCENT",
    "LAYOUTS",
    "NARROW",
    "NARROW_CHAIN",
    "WIDE",
    "WIDE_CHAIN",
    "Axis",
    "ChainLayout",
    "TimelineLayout",
    "axis_of",
    "block_height",
    "chain_svg",
    "claim_text",
    "clip",
    "duration",
    "evidence_words",
    "label_levels",
    "lag_rows",
    "line_step",
    "text_width",
    "timeline_svg",
    "wrap",
]
