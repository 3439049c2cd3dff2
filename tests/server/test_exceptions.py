"""One error root for the server (``server.exceptions.ServerError``), as the client has ``WinledgerError``."""

from __future__ import annotations

import importlib
import pkgutil

import server
from server import exceptions
from server.exceptions import ServerError


def _errors_defined_in_server() -> dict[str, type[BaseException]]:
    found = {}
    for module in pkgutil.walk_packages(server.__path__, "server."):
        if ".migrations" in module.name:
            continue
        for name, value in vars(importlib.import_module(module.name)).items():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == module.name
            ):
                found[name] = value
    return found


def test_every_error_the_server_defines_is_under_one_root_drawn_in_its_docstring() -> None:
    defined = _errors_defined_in_server()
    assert {"ProblemError", "SettingsError", "BackupError", "LeaseBusy", "CursorAhead"} <= set(defined)
    assert sorted(name for name, kind in defined.items() if not issubclass(kind, ServerError)) == []
    drawn = set((exceptions.__doc__ or "").split())
    assert sorted(name for name in defined if not name.startswith("_") and name not in drawn) == []
