/** The shapes the SDK stores and returns. */

/** The nine client fields of an event in normalized form (section 5.1). */
export interface EventFields {
  id: string;
  device_id: string;
  device_seq: number;
  clock: number;
  occurred_at: string;
  type: string;
  v: number;
  project_id: string | null;
  data: Record<string, unknown>;
}

/** `pending`: in the outbox; `synced`: the server holds it at `seq`; `unconfirmed`: being re-checked after a restore (9.4). */
export type EventState = "pending" | "synced" | "unconfirmed";

/** One event as the local store holds it (a storage row). */
export interface EventRow {
  id: string;
  device_id: string;
  device_seq: number;
  clock: number;
  type: string;
  v: number;
  project_id: string | null;
  /** Target of an `event.retracted` / `event.redacted`, else null. */
  target: string | null;
  /** The canonical (JCS) text of the nine client fields: what is pushed and hashed. */
  body: string;
  /** `h` of `body` (section 8): 32 lowercase hex digits. */
  h: string;
  state: EventState;
  seq: number | null;
  /** The last deferral's code and message (`unknown_type`, `unsupported_version`), else null. */
  code: string | null;
  message: string | null;
}

/** One local event as `Client.events()` returns it: its nine client fields, its state and hash. */
export interface StoredEvent extends EventFields {
  state: EventState;
  /** The server's `seq` while synced, else null. */
  seq: number | null;
  /** `h` of the canonical text (section 8). */
  h: string;
  /** The last deferral's code and message while the server does not know the type or version, else null. */
  code: string | null;
  message: string | null;
}

/** An event the server refused for good (`invalid_event`, `id_conflict`, ...), kept and shown to the user. */
export interface RejectedEvent {
  id: string;
  device_id: string;
  device_seq: number;
  clock: number;
  type: string;
  v: number;
  project_id: string | null;
  body: string;
  code: string;
  message: string;
  rejected_at: string;
}

/** A read model as last fetched from the server, kept for offline display. */
export interface ReadModel<T> {
  data: T;
  /** The server's `as_of_seq`: the read model reflects the events with `seq` up to it. */
  asOfSeq: number | null;
  /** When it was fetched (UTC, ISO 8601). */
  fetchedAt: string;
  /** True when the server could not be reached and this is the last stored copy. */
  fromCache: boolean;
}

export type SqlValue = string | number | null;

/** What `Storage.transaction` hands to its callback; every call belongs to that one transaction. */
export interface StorageTx {
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string | null): Promise<void>;
  getEvent(id: string): Promise<EventRow | null>;
  /** Insert the event, or replace the one with the same id. */
  putEvent(event: EventRow): Promise<void>;
  deleteEvent(id: string): Promise<void>;
  /** Events matching every given filter, in canonical order (clock, device_id, device_seq). */
  listEvents(filter?: { state?: EventState; deviceId?: string; type?: string; target?: string; projectId?: string }): Promise<EventRow[]>;
  /** Turn every synced event into unconfirmed and forget its seq (9.4 step 2); returns how many. */
  unconfirmAll(): Promise<number>;
  /** Turn every unconfirmed event into pending (9.4 step 4); returns how many. */
  requeueUnconfirmed(): Promise<number>;
  putRejected(event: RejectedEvent): Promise<void>;
  listRejected(): Promise<RejectedEvent[]>;
  getAlias(oldId: string): Promise<string | null>;
  putAlias(oldId: string, newId: string): Promise<void>;
  getReadModel(key: string): Promise<string | null>;
  putReadModel(key: string, value: string): Promise<void>;
}

/**
 * Where a client keeps its journal. `transaction` runs its callback in one atomic transaction,
 * one at a time: everything it wrote is kept when it resolves, nothing when it throws.
 */
export interface Storage {
  transaction<T>(fn: (tx: StorageTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
