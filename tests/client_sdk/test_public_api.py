from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import client_sdk
from client_sdk import errors


def test_all_is_sorted_and_complete() -> None:
    assert client_sdk.__all__ == sorted(client_sdk.__all__)
    public = {name for name in vars(client_sdk) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(client_sdk, name))}
    assert public - modules == set(client_sdk.__all__)


def test_every_error_is_exported_and_under_one_root() -> None:
    exported = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == errors.__name__
    }
    assert exported <= set(client_sdk.__all__)
    assert all(issubclass(getattr(errors, name), errors.WinledgerError) for name in exported)
    assert issubclass(errors.AuthError, errors.ServerError)
    assert issubclass(errors.ServerError, errors.SyncError)


def test_importing_the_sdk_pulls_in_no_server_dependency() -> None:
    """Every module of the SDK: the command line (``client_sdk.cli``), the demo and the private ones."""
    package = Path(client_sdk.__file__).parent
    modules = sorted(
        ".".join(("client_sdk", *path.relative_to(package).with_suffix("").parts))
        for path in package.rglob("*.py")
    )
    assert {"client_sdk.cli", "client_sdk._capture", "client_sdk._account", "client_sdk.demo"} <= set(modules)
    code = (
        f"import sys, {', '.join(modules)}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('server', 'starlette', 'sqlalchemy', 'aiosqlite', 'uvicorn')); "
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
