"""deploy/: the systemd units, the container recipe and the settings file name real options and settings.

Neither systemd nor docker runs these tests; what can be checked without them is: every command line
parses with `winledger`'s own parser, every `WINLEDGER_` variable is a setting the server reads (with a
value it accepts), and the files agree with each other and with the docs. `.ci/run` also runs
`systemd-analyze verify` on the units where it is installed.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from client_sdk.cli import build_parser
from server.cli import serve_settings
from server.settings import Settings

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
BINARY = "/opt/winledger/bin/winledger"
LIBPQ = {"PGPASSWORD", "PGPASSFILE"}
"""Read by asyncpg, not by winledger (docs/deploy.md, section 2)."""


def known_variables(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every WINLEDGER_ variable `winledger serve` reads: the settings, and the parser's --workers."""
    names = set(Settings().to_env())
    monkeypatch.setenv("WINLEDGER_WORKERS", "3")
    assert _serve(["serve"]).workers == 3
    return names | {"WINLEDGER_WORKERS"}


def _serve(argv: list[str]) -> argparse.Namespace:
    """`winledger ARGV` parsed as the command parses it; an unknown option or value fails the test. For
    `serve`, with the database, host, port and workers it serves: its flags, else $WINLEDGER_*, else
    the defaults."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"`winledger {shlex.join(argv)}` does not parse") from exc
    if args.command == "serve":
        settings = serve_settings(args)
        args.db, args.host, args.port, args.workers = (
            settings.db_url,
            settings.host,
            settings.port,
            settings.workers,
        )
    return args


def _settings(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    unknown = {name for name in environ if name.startswith("WINLEDGER_")} - known_variables(monkeypatch)
    assert not unknown, f"not settings of winledger: {sorted(unknown)}"
    assert set(environ) <= {name for name in environ if name.startswith("WINLEDGER_")} | LIBPQ
    return Settings.from_env(environ)


# -- systemd --------------------------------------------------------------------------------------


def unit(name: str) -> dict[str, list[str]]:
    """A unit file's `Key=value` lines, by key (systemd allows a key more than once)."""
    entries: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def exec_start(name: str, instance: str = "8750") -> list[str]:
    (line,) = unit(name)["ExecStart"]
    argv = shlex.split(line.replace("%i", instance))
    assert argv[0] == BINARY, "the units run the winledger of the virtualenv in /opt/winledger"
    return argv[1:]


def env_file() -> dict[str, str]:
    entries = {}
    for line in (DEPLOY / "winledger.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            entries[key] = value
    return entries


def test_the_sqlite_unit_serves_one_process_on_a_file_in_its_state_directory() -> None:
    args = _serve(exec_start("winledger.service"))
    assert (args.command, args.host, args.port, args.workers) == ("serve", "127.0.0.1", 8750, 1)
    entries = unit("winledger.service")
    assert args.db == "sqlite+aiosqlite:////srv/winledger/winledger.db"
    # The one place it may write (ProtectSystem=strict): the database, its WAL and its lock file.
    assert entries["ProtectSystem"] == ["strict"] and entries["ReadWritePaths"] == ["/srv/winledger"]
    assert entries["EnvironmentFile"] == ["-/etc/winledger/winledger.env"]  # optional here


def test_the_sqlite_database_the_docs_administer_is_the_one_the_unit_serves() -> None:
    served = _serve(exec_start("winledger.service")).db
    # Every absolute SQLite URL the docs use (backup, restore, delete-user, tokens, stats).
    named = {url for page in DOCS for url in re.findall(r"sqlite\+aiosqlite:////[\w/.-]+", page.read_text())}
    assert named == {served}, named


def test_the_postgresql_unit_takes_its_port_from_the_instance_and_its_database_from_the_env_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env_file().items():
        monkeypatch.setenv(name, value)
    args = _serve(exec_start("winledger@.service", "8751"))
    assert (args.command, args.host, args.port) == ("serve", "127.0.0.1", 8751)
    assert args.db == env_file()["WINLEDGER_DB"] and args.workers == int(env_file()["WINLEDGER_WORKERS"])
    assert unit("winledger@.service")["EnvironmentFile"] == ["/etc/winledger/winledger.env"]


@pytest.mark.parametrize("name", ["winledger.service", "winledger@.service"])
def test_the_units_let_serve_stop_its_own_processes(name: str) -> None:
    entries = unit(name)
    # SIGTERM to `serve` alone: it stops its workers and its projector process, then exits.
    assert entries["KillMode"] == ["mixed"] and entries["Type"] == ["exec"]
    assert entries["User"] == ["winledger"] and entries["Restart"] == ["on-failure"]
    assert int(entries["TimeoutStopSec"][0]) > 10, "serve drains requests for up to 10 s"


def test_the_env_file_holds_only_settings_winledger_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(env_file(), monkeypatch)
    url = make_url(settings.db_url)
    assert url.drivername == "postgresql+asyncpg" and url.password is None, "the password is in PGPASSWORD"
    assert settings.log_format == "json"


# -- the container --------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def substituted(environment: dict[str, str]) -> dict[str, str]:
    """Values with compose's `${NAME:?message}` given a value, as `docker compose` would."""
    return {
        name: re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "secret", str(value)) for name, value in environment.items()
    }


def dockerfile() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(line.split(None, 1)[0], line.split(None, 1)[1]) for line in lines]


def instruction(name: str) -> list[str]:
    return [value for kind, value in dockerfile() if kind == name]


def test_the_compose_file_runs_migrate_then_serve_on_the_postgresql_beside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = compose()["services"]
    assert set(services) == {"db", "migrate", "server"}
    db = services["db"]["environment"]
    migrate, server = services["migrate"], services["server"]
    assert migrate["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY / migrate["build"]["context"] / migrate["build"]["dockerfile"]).is_file()
    assert server["image"] == migrate["image"]
    assert server["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}

    assert _serve(migrate["command"]).command == "admin"
    assert migrate["command"] == ["admin", "migrate"]
    args = _serve(server["command"])
    assert (args.command, args.host) == ("serve", "0.0.0.0")
    assert server["ports"] == [f"127.0.0.1:{args.port}:{args.port}"]

    for service in (migrate, server):
        settings = _settings(substituted(service["environment"]), monkeypatch)
        url = settings.db_url
        assert url == f"postgresql+asyncpg://{db['POSTGRES_USER']}@db:5432/{db['POSTGRES_DB']}", url
        assert service["environment"]["PGPASSWORD"] == db["POSTGRES_PASSWORD"]


def test_the_image_runs_winledger_serve_on_the_port_it_exposes_and_checks() -> None:
    (entrypoint,) = instruction("ENTRYPOINT")
    (command,) = instruction("CMD")
    argv = yaml.safe_load(entrypoint) + yaml.safe_load(command)  # JSON arrays, which YAML reads
    assert argv[0] == "winledger"
    args = _serve(argv[1:])
    assert args.command == "serve" and args.host == "0.0.0.0"
    assert instruction("EXPOSE") == [str(args.port)]
    (health,) = instruction("HEALTHCHECK")
    assert f"http://127.0.0.1:{args.port}/healthz" in health


def test_the_image_is_built_from_the_package_and_installs_its_server_extra() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {source.rstrip("/") for value in instruction("COPY") for source in shlex.split(value)[:-1]}
    assert copied == {"pyproject.toml", project["project"]["readme"]} | packages
    assert all((ROOT / path).exists() for path in copied)
    kept = {line.lstrip("!").rstrip("/") for line in (DEPLOY / "Dockerfile.dockerignore").read_text().split()}
    assert copied <= kept
    (run,) = instruction("RUN")
    assert 'pip install --no-cache-dir --disable-pip-version-check ".[server]"' in run
    assert "server" in project["project"]["optional-dependencies"]
    assert instruction("USER") == ["winledger"]


# -- the docs -------------------------------------------------------------------------------------

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SYSTEMCTL = re.compile(r"systemctl (?:[a-z-]+ )+'?(winledger[^\s'`]*)")


def test_every_unit_the_docs_start_or_stop_is_in_deploy() -> None:
    named = set()
    for page in DOCS:
        for match in SYSTEMCTL.finditer(page.read_text()):
            name = match.group(1)
            named.add(name)
            template = re.sub(r"@[^.]*", "@", name)
            assert (DEPLOY / f"{template.removesuffix('.service')}.service").is_file(), (page.name, name)
    assert {"winledger", "winledger@*"} <= named


def test_every_deploy_file_the_docs_name_exists_and_every_one_is_named() -> None:
    named = {
        match.group(1) for page in DOCS for match in re.finditer(r"deploy/([\w.@-]*[\w@])", page.read_text())
    }
    assert named, "docs/deploy.md describes the files of deploy/"
    for name in named:
        assert (DEPLOY / name).is_file(), name
    assert {path.name for path in DEPLOY.iterdir()} <= named
