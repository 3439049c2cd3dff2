"""The sync loop: push the outbox in batches and pull pages, one ``POST /v1/sync`` per round trip.

Each round pushes the next batch of pending events (possibly none) and pulls
the page after the stored cursor; its answer is applied in one local
transaction (``client_sdk._merge``). The loop ends when a pull comes back
complete and nothing is left to push but what the server deferred.
"""

from __future__ import annotations

from msgspec import UNSET

from client_sdk import _merge, _owner
from client_sdk._store import Store, set_meta, utc_now
from client_sdk._transport import Transport
from client_sdk._types import Account, SyncReport
from client_sdk.errors import PayloadTooLargeError, ProtocolError, ServerError
from schema.protocol import InfoResponse, SyncRequest, spliced

Batch = list[tuple[str, str, bytes]]  # (id, device_id, normalized body) of each pending event

_REQUEST_OVERHEAD = 64  # '{"events":[', '],"after":N,"limit":M}' with room for 2**53-sized numbers


def run_sync(store: Store, http: Transport, *, batch_size: int, page_size: int) -> SyncReport:
    tally = _merge.Tally()
    info = http.info()
    if info.account is UNSET:
        raise ProtocolError(
            f"The server at {http.server} does not say whose this token is (no `account` in GET "
            "/v1/info): it is older than this client, which syncs a journal only with the account it "
            "belongs to. Upgrade the server; nothing was synced."
        )
    offered = Account(server=http.server, user=info.account.user, user_id=info.account.user_id)
    with store.transaction() as conn:
        _owner.claim(conn, store.path, offered, info.epoch)  # another account: refused, nothing changes
        _merge.observe_epoch(conn, info.epoch, tally)
    batch_limit = max(1, min(batch_size, info.limits.max_batch))
    page_size = max(1, min(page_size, info.limits.max_page))
    # Refused as too new for this server: not offered again within this sync().
    deferred: set[str] = set()
    recovered = False
    while True:
        batch = next_batch(store, deferred, batch_limit, info.limits.max_body_bytes)
        after = store.cursor
        # The pending bodies are the normalized events, written into the request as they are.
        request = SyncRequest(events=[spliced(body) for _, _, body in batch], after=after, limit=page_size)
        try:
            page = http.sync(request)
        except PayloadTooLargeError as exc:
            batch_limit, info = _shrink(store, http, exc, batch, info, tally)
            continue
        except ServerError as exc:
            if exc.code != "cursor_ahead" or after == 0:
                raise
            # The server's log is shorter than what we pulled (restored by hand): as if its epoch changed.
            with store.transaction() as conn:
                _merge.restart_pull(conn)
                if exc.epoch:
                    _merge.observe_epoch(conn, exc.epoch, tally)
            tally.epoch_changed = True
            continue
        with store.transaction() as conn:
            sent = [(event_id, device_id) for event_id, device_id, _ in batch]
            complete = _merge.apply_page(conn, page, sent, after, deferred, tally, store.now_ms)
            done = complete and not next_batch(store, deferred, 1, info.limits.max_body_bytes)
            if done and not recovered and page.digest is not UNSET and not matches_server(store):
                # The sets differ although the pull is complete: the server's store was restored by
                # hand (same epoch) and others pushed past our cursor, or this store was damaged.
                # Recover as from a new epoch, once; verify() reports a difference that remains.
                _merge.restart_pull(conn)
                tally.epoch_changed = recovered = True
                done = False
            if done:
                set_meta(conn, last_sync=utc_now())
        if done:
            return SyncReport(**vars(tally), cursor=store.cursor)
        if page.more and not page.events and page.cursor <= after and not batch:
            raise ProtocolError(f"The server says more events follow seq {after} but sends none.")


def next_batch(store: Store, deferred: set[str], limit: int, max_bytes: int) -> Batch:
    """The oldest pending events, in canonical order, that fit ``limit`` and a body of ``max_bytes``."""
    rows = store.pending(limit + len(deferred))
    batch: Batch = []
    size = _REQUEST_OVERHEAD
    for event_id, device_id, body in rows:
        if event_id in deferred:
            continue
        if batch and size + len(body) + 1 > max_bytes:
            break
        batch.append((event_id, device_id, body))
        size += len(body) + 1
        if len(batch) == limit:
            break
    return batch


def _shrink(
    store: Store,
    http: Transport,
    exc: PayloadTooLargeError,
    batch: Batch,
    info: InfoResponse,
    tally: _merge.Tally,
) -> tuple[int, InfoResponse]:
    """After a 413: the next batch limit (and the server's fresh limits after ``batch_too_large``)."""
    if exc.code == "batch_too_large" and len(batch) > 1:
        info = http.info()
        return max(1, min(info.limits.max_batch, len(batch) // 2)), info
    if len(batch) > 1:
        return len(batch) // 2, info
    if not batch or exc.code == "batch_too_large":
        raise exc
    # One event alone is larger than the server takes: set it aside rather than block every sync.
    event_id = batch[0][0]
    with store.transaction() as conn:
        if _merge.reject(conn, event_id, "body_too_large", f"Event {event_id!r} alone is too large: {exc}"):
            tally.rejected += 1
    return 1, info


def matches_server(store: Store) -> bool:
    """Whether the synced events up to the last complete pull have the server's count and digest."""
    upto, count, digest = store.get("server_cursor"), store.get("server_count"), store.get("server_digest")
    if upto is None or count is None or digest is None:
        raise ProtocolError(
            "The server's last complete pull carried no `count` and `digest` to verify against."
        )
    return store.synced_digest(int(upto)) == (int(count), str(digest).lower())
