"""The projector in a process of its own: what ``winledger serve`` runs beside its workers.

Folding read models is CPU work in Python. In the server's process it shares the GIL with every request,
so a burst of pushes that re-folds large projects slows the pushes themselves (measured: a
100,000-event batch push ran at about half its speed while the projector rebuilt in the same process).
In a process of its own it runs on another core, and the requests never wait for it.

- ``serve`` starts one with ``Supervisor`` (whatever ``--workers``), sets ``WINLEDGER_PROJECTOR=process``
  for the app (which then projects nothing itself), and restarts it if it dies; it stops it on shutdown.
- The process finds work by polling (``behind_users``, one indexed query) every ``PROCESS_POLL_S``, as no
  push of its own process tells it of work; leases keep it from racing an ``admin rebuild`` or a second
  host, exactly as between workers (see server/projections/projector.py).
- Readers waiting for read models (``min_seq``) poll the checkpoint every ``REMOTE_POLL_S``.
- It exits when its parent does (a SIGKILLed server leaves no orphan folding on), on SIGTERM or SIGINT,
  and holds the SQLite store's serving lock while it runs, as the server does (``admin restore``).

Run as ``python -m server.projections.process`` with the server's settings in the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace

from server.settings import PROJECTOR_PARENT, Settings, projector_parent

log = logging.getLogger("winledger.projector")

PROCESS_POLL_S = 0.05
"""How often the projector process looks for users behind (unless WINLEDGER_PROJECTOR_POLL_S is set)."""
RESTART_DELAY_S = 1.0


async def run(settings: Settings, parent: int) -> None:
    from server.database import tables as db
    from server.database.serving import hold_serving_lock
    from server.eventlog import event_store
    from server.eventlog.sqlite import SQLiteRecorder
    from server.projections.projector import Projector

    hold_serving_lock(settings.db_url)  # as the server does: `admin restore` waits for this process too
    engine = db.create_engine(settings.db_url)
    store = event_store(engine)
    if isinstance(store.recorder, SQLiteRecorder):
        # This loop only projects: the projector's SQL runs in its thread, without a hop per statement.
        store.recorder.reads.inline = store.recorder.writer.inline = True
    projector = Projector(
        store,
        batch=settings.projector_batch,
        poll_s=settings.projector_poll_s,
        lease_s=settings.projector_lease_s,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    projector.start()
    try:
        while not stop.is_set():
            if os.getppid() != parent:  # the server is gone (even by SIGKILL): so is its projector
                log.warning("the server process %s is gone; the projector stops", parent)
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await stop.wait()
    finally:
        await projector.stop()
        store.close()
        await engine.dispose()


def _die_with_parent() -> None:
    """On Linux, have the kernel send SIGTERM when the parent dies (the polling in ``run`` is the
    fallback elsewhere): a killed server's projector stops at once and frees the store's lock."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    parent = projector_parent() or os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the server died before the line above
        return 0
    settings = Settings.from_env()
    asyncio.run(run(settings, parent))
    return 0


class Supervisor:
    """Keeps one projector process running beside the server until ``stop``."""

    def __init__(self, settings: Settings) -> None:
        # The settings reach the process as WINLEDGER_* variables, every one of them set: the poll is
        # decided here, where an unset WINLEDGER_PROJECTOR_POLL_S still shows.
        poll_s = settings.projector_poll_s if Settings.is_set("projector_poll_s") else PROCESS_POLL_S
        self.env = {
            **os.environ,
            **replace(settings, projector="process", projector_poll_s=poll_s).to_env(),
            PROJECTOR_PARENT: str(os.getpid()),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="winledger-projector-supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> None:
        # stdout/stderr are the server's: the projector's log lines go where the server's do.
        self.process = subprocess.Popen([sys.executable, "-m", "server.projections.process"], env=self.env)

    def _keep(self) -> None:
        while not self._stopping.is_set():
            process = self.process
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            print(
                f"winledger: the projector process exited ({code}); restarting in {RESTART_DELAY_S:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            if self._stopping.wait(RESTART_DELAY_S):
                return
            self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
