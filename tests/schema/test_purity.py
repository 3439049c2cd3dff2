"""The pure core stays pure: no I/O dependency is imported, and ``schema`` is ours."""

from __future__ import annotations

import importlib.util
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_importing_the_client_sdk_imports_nothing_of_the_server() -> None:
    if importlib.util.find_spec("client_sdk") is None:
        pytest.skip("client_sdk does not exist yet")
    loaded = _modules_after("import client_sdk")
    assert "client_sdk" in loaded
    assert sorted(set(loaded) & set(SERVER_SIDE)) == []


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
