"""The pure core stays pure: no I/O dependency is imported, and ``schema`` is ours."""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import schema

REPO = Path(__file__).resolve().parents[2]
SERVER_SIDE = ("starlette", "sqlalchemy", "aiosqlite", "uvicorn", "server")
FORBIDDEN_IN_SCHEMA = (*SERVER_SIDE, "httpx", "sqlite3", "client_sdk")


def _modules_after(imports: str) -> list[str]:
    """The top-level names in ``sys.modules`` after running ``imports`` in a fresh interpreter."""
    code = f"import json, sys\n{imports}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _schema_modules() -> list[str]:
    package = Path(schema.__file__).parent
    return sorted(
        f"schema.{'.'.join(path.relative_to(package).with_suffix('').parts)}"
        for path in package.rglob("*.py")
        if path.name != "__init__.py"
    )


def test_importing_the_schema_imports_no_server_client_or_database_module() -> None:
    modules = ["schema", "schema.validation", "schema.upcast", "schema.jsonschema", *_schema_modules()]
    loaded = _modules_after("\n".join(f"import {name}" for name in modules))
    assert "schema" in loaded and "msgspec" in loaded
    assert sorted(set(loaded) & set(FORBIDDEN_IN_SCHEMA)) == []


def test_schema_is_this_repository_s_package_not_the_pypi_one() -> None:
    assert Path(schema.__file__).resolve().is_relative_to(REPO)
    assert Path(schema.__file__).resolve().parent == REPO / "schema"
    code = "import schema; print(schema.__file__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", check=True)
    assert Path(result.stdout.strip()).resolve().parent == REPO / "schema"


def client_sdk_modules() -> list[str]:
    """Every module of ``client_sdk``, the command line, the demo and the private ones included."""
    package = REPO / "client_sdk"
    return sorted(
        ".".join(("client_sdk", *path.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
        for path in package.rglob("*.py")
    )


def test_importing_every_module_of_the_client_sdk_imports_nothing_of_the_server() -> None:
    modules = client_sdk_modules()
    assert {"client_sdk", "client_sdk.cli", "client_sdk._capture", "client_sdk._account"} <= set(modules)
    assert "client_sdk.demo" in modules
    loaded = _modules_after("\n".join(f"import {name}" for name in modules))
    assert "client_sdk" in loaded
    assert sorted(set(loaded) & set(SERVER_SIDE)) == []


_DOTTED = re.compile(r"server(\.\w+)*(:\w+)?")


def names_a_server_module(text: str) -> bool:
    """``text`` is a module of ``server`` by its import name (``server.cli``, ``server.cli:register``),
    not a word or a file name (``server``, ``server.db``)."""
    if not _DOTTED.fullmatch(text) or text == "server":
        return False
    path = REPO.joinpath(*text.partition(":")[0].split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


_IMPORTERS = {"import_module", "__import__", "find_spec"}


def server_references(source: str) -> list[str]:
    """Where ``source`` imports ``server``, names one of its modules in a string, or gives ``"server"``
    to an importer (``importlib.import_module``, ``__import__``, ``find_spec``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "server"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module] if node.module.split(".")[0] == "server" else []
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [node.value] if names_a_server_module(node.value.strip()) else []
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in _IMPORTERS and node.args[0].value == "server":
                found.append("server")
    return found


def test_the_client_sdk_never_names_the_server_package() -> None:
    """The ``winledger`` command finds the server's commands through an entry point (pyproject.toml):
    no module of the client imports ``server``, nor names one of its modules to import."""
    assert server_references("import importlib\nimportlib.import_module('server.cli')") == ["server.cli"]
    assert server_references("from server.admin.store import shown") == ["server.admin.store"]
    assert server_references("__import__('server')") == ["server"]
    assert server_references("settings['server'] = url; path = 'server.db'") == []  # not modules
    assert server_references("plugin = 'server:register'") == ["server:register"]
    named = {
        str(path.relative_to(REPO)): references
        for path in sorted((REPO / "client_sdk").rglob("*.py"))
        if (references := server_references(path.read_text()))
    }
    assert named == {}


def test_all_is_sorted_and_complete() -> None:
    assert schema.__all__ == sorted(schema.__all__)
    public = {
        name
        for name, value in vars(schema).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(schema.__all__) == public
    for name in schema.__all__:
        value = getattr(schema, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.startswith("schema."), f"{name} comes from {value.__module__}"


def test_the_winledger_command_lists_the_server_s_commands_without_importing_its_dependencies() -> None:
    """``server.cli.register``, found through the entry point, adds ``serve`` and ``admin`` with argparse
    alone: a client-only install lists what it can, and a capture does not pay for the server."""
    code = "from client_sdk.cli import build_parser\nassert 'serve' in build_parser().format_help()"
    loaded = _modules_after(code)
    assert "server" in loaded
    dependencies = {"starlette", "sqlalchemy", "aiosqlite", "uvicorn", "alembic", "rich", "asyncpg"}
    assert sorted(set(loaded) & dependencies) == []
