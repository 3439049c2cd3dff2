"""The links between the protocol's pages land on a heading (or a file) that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs"
PAGES = ["protocol.md", "protocol-examples.md"]
LINK = re.compile(r"\]\((?P<page>[a-z0-9-]+\.(?:md|json))?(?:#(?P<anchor>[a-z0-9-]+))?\)")


def _anchors(page: str) -> set[str]:
    """GitHub's anchors: the heading in lowercase, without punctuation, spaces as hyphens."""
    text = re.sub(r"^```.*?^```$", "", (DOCS / page).read_text(encoding="utf-8"), flags=re.M | re.S)
    headings = re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES)
def test_every_link_between_the_protocol_pages_lands(page: str) -> None:
    links = list(LINK.finditer((DOCS / page).read_text(encoding="utf-8")))
    assert links
    for link in links:
        target = link["page"] or page
        assert (DOCS / target).is_file(), link[0]
        if link["anchor"]:
            assert link["anchor"] in _anchors(target), link[0]
