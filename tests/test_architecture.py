"""The house's rules that import-linter cannot see (docs/decisions/0010-one-house.md).

import-linter (``lint-imports`` in CI, contracts in pyproject.toml) keeps the layers, the independence of
``server`` and ``client_sdk`` and the absence of import loops. These tests keep the rest: modules small
enough to read, functions short enough to hold in one's head, and no module reaching for another
module's private names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("schema", "server", "client_sdk")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    found = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    return [path for path in found if "migrations" not in path.relative_to(ROOT).parts]


def _name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


MODULES = _modules()


def test_no_module_is_over_400_lines() -> None:
    long = {_name(p): n for p in MODULES if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_is_over_80_lines() -> None:
    long = {}
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{_name(path)}.{node.name}"] = lines
    assert long == {}


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_private_name_is_imported_from_another_module(path: Path) -> None:
    """``from server.http.routes import _authenticate`` was how the read-model routes reached into the
    protocol's routes; a private name is used only in its own module. (A private *module*, such as
    ``client_sdk._store``, is imported by its package's other modules: that is httpx's layout.)"""
    reached = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            package = ROOT / node.module.replace(".", "/")
            reached += [
                f"{node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not (package / f"{alias.name}.py").exists()
            ]
    assert reached == []
