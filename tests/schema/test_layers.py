"""The layers of ``schema``: core < ``schema.projections`` < ``schema.protocol``; none imports upward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import schema

PACKAGE = Path(schema.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


def _layer(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else "core"


ABOVE = {"core": ("schema.projections", "schema.protocol"), "projections": ("schema.protocol",)}


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE))
)
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    above = ABOVE.get(_layer(path), ())
    upward = sorted(name for name in _imports(path) if name.startswith(above))
    assert upward == [], f"{path.relative_to(PACKAGE)} ({_layer(path)}) imports {upward}"
