"""Every HTTP example of the protocol's pages is what the server answers.

How an example is written so that it can be replayed: the top of docs/protocol-examples.md, and
tests/docs/replay.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.docs.replay import Exchange, parse, replay

DOCS = Path(__file__).parents[2] / "docs"
PAGES = ["protocol.md", "protocol-examples.md"]


@pytest.mark.parametrize("page", PAGES)
def test_every_http_example_is_what_the_server_answers(page: str, portal: Any, tmp_path: Path) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    examples = sum(isinstance(step, Exchange) for step in parse(text))
    assert examples > 0
    assert replay(text, portal, tmp_path) == examples
