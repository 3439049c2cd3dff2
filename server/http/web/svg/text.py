"""Measuring and writing text in SVG, which does not wrap: widths from the advance widths of DejaVu Sans
(what ``system-ui`` is on Debian, wider than the usual UI fonts), so that a line that fits here fits on
the page."""

from __future__ import annotations

from server.http.web.markup import Markup, join, render

__all__ = ["ASCENT", "DESCENT", "block_height", "clip", "line_step", "text_lines", "text_width", "wrap"]

# Advance widths of DejaVu Sans, in thousandths of an em, of the printable ASCII characters from the
# space to the tilde (measured in Chromium at 100 px).
_REGULAR = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636,
    636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 709, 686, 698, 770, 632, 575, 775,
    752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 595, 732, 684, 989, 685, 611, 685, 390,
    337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 344, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 395, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
)  # fmt: skip
_BOLD = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696,
    696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821,
    837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 680, 703, 812, 774, 1103, 771, 724, 725, 457,
    365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 405, 716, 712, 343, 343, 665, 343, 1042, 712, 687,
    716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
)  # fmt: skip
_OTHER = {
    "\u201c": 518,
    "\u201d": 518,
    "\u2018": 318,
    "\u2019": 318,
    "\u00b7": 318,
    "\u2013": 500,
    "\u00e9": 615,
}
_UNKNOWN = 1000  # any other character: as wide as an em, wider than most
_SLACK = 1.04  # another font, another renderer: room to spare
ASCENT, DESCENT = 0.93, 0.24
"""Of a line of text above and below its baseline, in ems (DejaVu Sans: 0.928 and 0.236)."""


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of one line of ``text`` at ``size`` px, a little generously."""
    table = _BOLD if bold else _REGULAR
    total = 0
    for char in text:
        code = ord(char)
        total += table[code - 32] if 32 <= code < 127 else _OTHER.get(char, _UNKNOWN)
    return total * size / 1000 * _SLACK


def wrap(text: str, width: float, size: float, bold: bool = False, max_lines: int | None = None) -> list[str]:
    """``text`` on as few lines as fit in ``width`` (a word longer than a line is broken); past
    ``max_lines`` the last line ends with an ellipsis."""

    def fits(line: str) -> bool:
        return text_width(line, size, bold) <= width

    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        while not fits(word) and len(word) > 1:
            cut = max(1, next(n for n in range(len(word), 0, -1) if fits(word[:n]) or n == 1))
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if max_lines is not None and len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and not fits(last + "…"):
            last = last[:-1].rstrip()
        lines = [*lines[: max_lines - 1], last + "…"]
    return lines or [""]


def clip(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` on one line of ``width``, with an ellipsis where it had to be cut."""
    return wrap(" ".join(text.split()), width, size, bold, max_lines=1)[0]


def text_lines(
    lines: list[str], x: float, baseline: float, size: float, cls: str, *, bold: bool = False,
    anchor: str = "start", step: float | None = None,
) -> Markup:  # fmt: skip
    """Lines of text, one ``<text>`` each, the first on ``baseline``."""
    step = step or line_step(size)
    return join(
        render(
            '<text x="{x}" y="{y}" class="{cls}" font-size="{size}"{weight}{anchor}>{text}</text>',
            x=round(x, 1),
            y=round(baseline + index * step, 1),
            cls=cls,
            size=size,
            weight=Markup(' font-weight="700"') if bold else Markup(""),
            anchor=Markup(f' text-anchor="{anchor}"') if anchor != "start" else Markup(""),
            text=line,
        )
        for index, line in enumerate(lines)
    )


def line_step(size: float) -> float:
    """From one baseline to the next: room for the first line's descent and the next one's ascent."""
    return round(size * 1.3, 1)


def block_height(count: int, size: float) -> float:
    """From the top of ``count`` lines to the bottom of the last."""
    return (count - 1) * line_step(size) + (ASCENT + DESCENT) * size if count else 0.0
