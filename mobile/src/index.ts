/** winledger's TypeScript client: capture wins offline, sync them with a winledger server, verify the digest. */
export { Client } from "./client.js";
export type { ClientOptions, RetryOptions, SyncReport } from "./client.js";
export { MemoryStorage } from "./memory-storage.js";
export { SqliteStorage, betterSqlite3Driver, expoSqliteDriver, opSqliteDriver } from "./sqlite-storage.js";
export type { SqliteDriver, BetterSqlite3Like, ExpoSqliteLike, OpSqliteLike, OpSqliteResult } from "./sqlite-storage.js";
export { ValidationError, SyncError } from "./errors.js";
export { canonicalJson, eventHash, digestOf, digestOfHashes } from "./jcs.js";
export { validateEvent } from "./validate.js";
export type { EventFields, EventRow, EventState, StoredEvent, RejectedEvent, ReadModel, Storage, StorageTx, SqlValue } from "./types.js";
