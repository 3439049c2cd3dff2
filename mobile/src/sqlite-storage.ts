import { Mutex } from "./mutex.js";
import type { EventState, RejectedEvent, SqlValue, Storage, StorageTx, EventRow } from "./types.js";

/**
 * The few calls `SqliteStorage` needs from a SQLite binding. `betterSqlite3Driver`,
 * `expoSqliteDriver` and `opSqliteDriver` build one from those libraries' database objects;
 * any other binding can be wrapped the same way.
 */
export interface SqliteDriver {
  /** Run one or more statements without parameters (schema, BEGIN, COMMIT, ROLLBACK). */
  exec(sql: string): Promise<void>;
  /** Run one statement with positional `?` parameters; `changes` is the number of rows it changed. */
  run(sql: string, params?: SqlValue[]): Promise<{ changes: number }>;
  /** Run one query with positional `?` parameters and return its rows as objects keyed by column. */
  all<T = Record<string, SqlValue>>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** Close the database (optional). */
  close?(): Promise<void>;
}

/** The part of a better-sqlite3 `Database` the driver uses (typed structurally: nothing is imported). */
export interface BetterSqlite3Like {
  exec(sql: string): unknown;
  prepare(sql: string): {
    run(...params: unknown[]): { changes: number };
    all(...params: unknown[]): unknown[];
  };
  close(): unknown;
}

/** A driver over a better-sqlite3 `Database` (synchronous calls, wrapped in promises). */
export function betterSqlite3Driver(db: BetterSqlite3Like): SqliteDriver {
  return {
    async exec(sql) {
      db.exec(sql);
    },
    async run(sql, params = []) {
      const r = db.prepare(sql).run(...params);
      return { changes: Number(r.changes) };
    },
    async all<T>(sql: string, params: SqlValue[] = []) {
      return db.prepare(sql).all(...params) as T[];
    },
    async close() {
      db.close();
    },
  };
}

/** The part of an expo-sqlite `SQLiteDatabase` (the async API of expo-sqlite 14 and later) the driver uses. */
export interface ExpoSqliteLike {
  execAsync(source: string): Promise<void>;
  runAsync(source: string, params: SqlValue[]): Promise<{ changes: number; lastInsertRowId: number }>;
  getAllAsync<T>(source: string, params: SqlValue[]): Promise<T[]>;
  closeAsync(): Promise<void>;
}

/** A driver over an expo-sqlite database opened with `openDatabaseAsync`. */
export function expoSqliteDriver(db: ExpoSqliteLike): SqliteDriver {
  return {
    exec: (sql) => db.execAsync(sql),
    async run(sql, params = []) {
      const r = await db.runAsync(sql, params);
      return { changes: r.changes };
    },
    all: <T>(sql: string, params: SqlValue[] = []) => db.getAllAsync<T>(sql, params),
    close: () => db.closeAsync(),
  };
}

/** What @op-engineering/op-sqlite's `execute` gives: `rows` as objects (op-sqlite 9 and later) or `{ _array }` (earlier). */
export interface OpSqliteResult {
  rowsAffected?: number;
  rows?: Array<Record<string, unknown>> | { _array: Array<Record<string, unknown>> };
}
/** The part of an @op-engineering/op-sqlite `DB` the driver uses (typed structurally: nothing is imported). */
export interface OpSqliteLike {
  /** Asynchronous in op-sqlite 7 and later, synchronous before: both are awaited. */
  execute(query: string, params?: SqlValue[]): Promise<OpSqliteResult> | OpSqliteResult;
  close(): unknown;
}

/** A driver over an op-sqlite database opened with `open({ name })`. */
export function opSqliteDriver(db: OpSqliteLike): SqliteDriver {
  return {
    async exec(sql) {
      // op-sqlite's execute runs one statement; split the schema's statements.
      for (const statement of sql.split(";").map((s) => s.trim()).filter(Boolean)) await db.execute(statement);
    },
    async run(sql, params = []) {
      const r = await db.execute(sql, params);
      return { changes: r.rowsAffected ?? 0 };
    },
    async all<T>(sql: string, params: SqlValue[] = []) {
      const r = await db.execute(sql, params);
      const rows = r.rows === undefined ? [] : Array.isArray(r.rows) ? r.rows : r.rows._array;
      return rows as T[];
    },
    async close() {
      await db.close();
    },
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY, device_id TEXT NOT NULL, device_seq INTEGER NOT NULL, clock INTEGER NOT NULL,
  type TEXT NOT NULL, v INTEGER NOT NULL, project_id TEXT, target TEXT, body TEXT NOT NULL, h TEXT NOT NULL,
  state TEXT NOT NULL, seq INTEGER, code TEXT, message TEXT);
CREATE INDEX IF NOT EXISTS events_order ON events (clock, device_id, device_seq);
CREATE INDEX IF NOT EXISTS events_state ON events (state);
CREATE INDEX IF NOT EXISTS events_target ON events (target);
CREATE INDEX IF NOT EXISTS events_project ON events (project_id);
CREATE TABLE IF NOT EXISTS rejected (
  n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, device_id TEXT NOT NULL, device_seq INTEGER NOT NULL,
  clock INTEGER NOT NULL, type TEXT NOT NULL, v INTEGER NOT NULL, project_id TEXT, body TEXT NOT NULL,
  code TEXT NOT NULL, message TEXT NOT NULL, rejected_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS aliases (old_id TEXT PRIMARY KEY, new_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS read_models (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const EVENT_COLUMNS = "id, device_id, device_seq, clock, type, v, project_id, target, body, h, state, seq, code, message";

function toEvent(row: Record<string, SqlValue>): EventRow {
  return {
    id: String(row.id),
    device_id: String(row.device_id),
    device_seq: Number(row.device_seq),
    clock: Number(row.clock),
    type: String(row.type),
    v: Number(row.v),
    project_id: row.project_id === null || row.project_id === undefined ? null : String(row.project_id),
    target: row.target === null || row.target === undefined ? null : String(row.target),
    body: String(row.body),
    h: String(row.h),
    state: String(row.state) as EventState,
    seq: row.seq === null || row.seq === undefined ? null : Number(row.seq),
    code: row.code === null || row.code === undefined ? null : String(row.code),
    message: row.message === null || row.message === undefined ? null : String(row.message),
  };
}

/**
 * A journal in a SQLite database, through a `SqliteDriver`. The tables are created on open.
 * Transactions are `BEGIN IMMEDIATE` ... `COMMIT`, one at a time within this object (a JS mutex
 * keeps the async calls of two transactions from interleaving on one connection).
 */
export class SqliteStorage implements Storage {
  private readonly mutex = new Mutex();

  private constructor(private readonly driver: SqliteDriver) {}

  static async open(driver: SqliteDriver): Promise<SqliteStorage> {
    await driver.exec(SCHEMA);
    return new SqliteStorage(driver);
  }

  transaction<T>(fn: (tx: StorageTx) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      await this.driver.exec("BEGIN IMMEDIATE");
      let result: T;
      try {
        result = await fn(new SqliteTx(this.driver));
      } catch (error) {
        try {
          await this.driver.exec("ROLLBACK");
        } catch {
          // The transaction is already gone (SQLite rolled it back itself): nothing more to undo.
        }
        throw error;
      }
      await this.driver.exec("COMMIT");
      return result;
    });
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      await this.driver.close?.();
    });
  }
}

class SqliteTx implements StorageTx {
  constructor(private readonly db: SqliteDriver) {}

  async getMeta(key: string): Promise<string | null> {
    const rows = await this.db.all<{ value: string }>("SELECT value FROM meta WHERE key = ?", [key]);
    return rows[0] ? String(rows[0].value) : null;
  }
  async setMeta(key: string, value: string | null): Promise<void> {
    if (value === null) await this.db.run("DELETE FROM meta WHERE key = ?", [key]);
    else await this.db.run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value]);
  }
  async getEvent(id: string): Promise<EventRow | null> {
    const rows = await this.db.all<Record<string, SqlValue>>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`, [id]);
    return rows[0] ? toEvent(rows[0]) : null;
  }
  async putEvent(e: EventRow): Promise<void> {
    await this.db.run(`INSERT OR REPLACE INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      e.id, e.device_id, e.device_seq, e.clock, e.type, e.v, e.project_id, e.target, e.body, e.h, e.state, e.seq, e.code, e.message,
    ]);
  }
  async deleteEvent(id: string): Promise<void> {
    await this.db.run("DELETE FROM events WHERE id = ?", [id]);
  }
  async listEvents(filter: { state?: EventState; deviceId?: string; type?: string; target?: string; projectId?: string } = {}): Promise<EventRow[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const add = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`${column} = ?`);
      params.push(value);
    };
    add("state", filter.state);
    add("device_id", filter.deviceId);
    add("type", filter.type);
    add("target", filter.target);
    add("project_id", filter.projectId);
    const sql = `SELECT ${EVENT_COLUMNS} FROM events${where.length ? " WHERE " + where.join(" AND ") : ""} ORDER BY clock, device_id, device_seq`;
    return (await this.db.all<Record<string, SqlValue>>(sql, params)).map(toEvent);
  }
  async unconfirmAll(): Promise<number> {
    return (await this.db.run("UPDATE events SET state = 'unconfirmed', seq = NULL WHERE state = 'synced'")).changes;
  }
  async requeueUnconfirmed(): Promise<number> {
    return (await this.db.run("UPDATE events SET state = 'pending' WHERE state = 'unconfirmed'")).changes;
  }
  async putRejected(r: RejectedEvent): Promise<void> {
    await this.db.run(
      "INSERT INTO rejected (id, device_id, device_seq, clock, type, v, project_id, body, code, message, rejected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      [r.id, r.device_id, r.device_seq, r.clock, r.type, r.v, r.project_id, r.body, r.code, r.message, r.rejected_at],
    );
  }
  async listRejected(): Promise<RejectedEvent[]> {
    const rows = await this.db.all<Record<string, SqlValue>>(
      "SELECT id, device_id, device_seq, clock, type, v, project_id, body, code, message, rejected_at FROM rejected ORDER BY n",
    );
    return rows.map((row) => ({
      id: String(row.id),
      device_id: String(row.device_id),
      device_seq: Number(row.device_seq),
      clock: Number(row.clock),
      type: String(row.type),
      v: Number(row.v),
      project_id: row.project_id === null || row.project_id === undefined ? null : String(row.project_id),
      body: String(row.body),
      code: String(row.code),
      message: String(row.message),
      rejected_at: String(row.rejected_at),
    }));
  }
  async getAlias(oldId: string): Promise<string | null> {
    const rows = await this.db.all<{ new_id: string }>("SELECT new_id FROM aliases WHERE old_id = ?", [oldId]);
    return rows[0] ? String(rows[0].new_id) : null;
  }
  async putAlias(oldId: string, newId: string): Promise<void> {
    await this.db.run("INSERT OR REPLACE INTO aliases (old_id, new_id) VALUES (?, ?)", [oldId, newId]);
  }
  async getReadModel(key: string): Promise<string | null> {
    const rows = await this.db.all<{ value: string }>("SELECT value FROM read_models WHERE key = ?", [key]);
    return rows[0] ? String(rows[0].value) : null;
  }
  async putReadModel(key: string, value: string): Promise<void> {
    await this.db.run("INSERT OR REPLACE INTO read_models (key, value) VALUES (?, ?)", [key, value]);
  }
}
