"""Where the ``winledger`` command keeps the journal, its settings and the sign-in token.

- The journal (the client store): ``--store PATH``, else ``$WINLEDGER_STORE``, else ``journal.db`` in the
  user's data directory (``$XDG_DATA_HOME/winledger``, else ``~/.local/share/winledger``).
- Settings: ``config.json`` in the user's config directory (``$XDG_CONFIG_HOME/winledger``, else
  ``~/.config/winledger``), holding the server URL. ``$WINLEDGER_SERVER`` overrides it.
- The token: the file ``token`` beside it, never in ``config.json``, so settings can be shown or copied
  without the secret. ``$WINLEDGER_TOKEN`` overrides it.

The directories are made ``0700`` and the files are created ``0600`` by ``os.open`` itself (a ``chmod``
after the fact would leave the token readable by others for a moment), then renamed into place, so a
crash never leaves half a file. macOS and Windows use their own per-user folders unless an
``XDG_*`` variable is set.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Any

from client_sdk.errors import ConfigurationError

APP = "winledger"
CONFIG_FILE = "config.json"
TOKEN_FILE = "token"


def _user_dir(xdg_variable: str, posix_default: tuple[str, ...], windows_variable: str) -> Path:
    value = os.environ.get(xdg_variable, "")
    if os.path.isabs(value):  # the XDG spec says to ignore a relative path
        return Path(value) / APP
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    if sys.platform == "win32":
        return Path(os.environ.get(windows_variable) or Path.home() / "AppData" / "Roaming") / APP
    return Path.home().joinpath(*posix_default, APP)


def config_dir() -> Path:
    return _user_dir("XDG_CONFIG_HOME", (".config",), "APPDATA")


def data_dir() -> Path:
    return _user_dir("XDG_DATA_HOME", (".local", "share"), "LOCALAPPDATA")


def store_path(flag: str | None = None, *, create: bool = True) -> Path:
    """The journal file: the ``--store`` flag, else ``$WINLEDGER_STORE``, else the data directory's
    (made ``0700`` unless ``create`` is false: a command that only reads makes nothing)."""
    chosen = flag or os.environ.get("WINLEDGER_STORE")
    if chosen:
        return Path(chosen).expanduser()
    directory = data_dir()
    if create:
        private_dir(directory)
    return directory / "journal.db"


def store_source(flag: str | None = None) -> str:
    """Where ``store_path`` took the journal's path from, for a message: ``--store``, ..."""
    if flag:
        return "--store"
    return "$WINLEDGER_STORE" if os.environ.get("WINLEDGER_STORE") else "the default journal"


def private_dir(directory: Path) -> None:
    """Create ``directory`` (and its parents) and make it ``0700`` if it is looser."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        mode = stat.S_IMODE(directory.stat().st_mode)
        if mode & 0o077:
            directory.chmod(0o700)


def write_private(path: Path, content: bytes) -> None:
    """Write ``path`` atomically, as a file only its owner can read, from its first byte."""
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            if os.name == "posix":
                os.fchmod(file.fileno(), 0o600)  # exactly 0600 whatever the umask
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load_settings() -> dict[str, Any]:
    path = config_dir() / CONFIG_FILE
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Cannot read the settings file {str(path)!r}: {exc}.") from exc
    if not isinstance(settings, dict):
        raise ConfigurationError(f"The settings file {str(path)!r} does not hold a JSON object.")
    return settings


def save_settings(settings: dict[str, Any]) -> Path:
    path = config_dir() / CONFIG_FILE
    write_private(path, json.dumps(settings, indent=2, sort_keys=True).encode() + b"\n")
    return path


def server_url() -> str | None:
    """``$WINLEDGER_SERVER``, else the server ``winledger login`` saved."""
    server = os.environ.get("WINLEDGER_SERVER") or load_settings().get("server")
    return server if isinstance(server, str) and server else None


def token_path() -> Path:
    return config_dir() / TOKEN_FILE


def read_token() -> str | None:
    """``$WINLEDGER_TOKEN``, else the token ``winledger login`` saved."""
    if os.environ.get("WINLEDGER_TOKEN"):
        return os.environ["WINLEDGER_TOKEN"].strip()
    try:
        token = token_path().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the token file {str(token_path())!r}: {exc}.") from exc
    return token or None


def save_token(token: str) -> Path:
    path = token_path()
    write_private(path, token.encode() + b"\n")
    return path


def remove_token() -> bool:
    """Delete the saved token; ``False`` when there was none."""
    try:
        token_path().unlink()
    except FileNotFoundError:
        return False
    return True
