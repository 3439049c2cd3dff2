// MemoryStorage and SqliteStorage (better-sqlite3 on a temporary file) behave alike.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { betterSqlite3Driver, Client, expoSqliteDriver, MemoryStorage, opSqliteDriver, SqliteStorage } from "../../src/index.js";
import type { EventRow, Storage } from "../../src/index.js";

function row(id: string, clock: number, extra: Partial<EventRow> = {}): EventRow {
  return {
    id, device_id: "5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b", device_seq: clock, clock, type: "win.captured", v: 1,
    project_id: null, target: null, body: `{"id":"${id}"}`, h: "0".repeat(31) + (clock % 10), state: "pending", seq: null,
    code: null, message: null, ...extra,
  };
}

/** One script of operations; returns everything the storage then holds. */
async function exercise(storage: Storage): Promise<unknown> {
  await storage.transaction(async (tx) => {
    await tx.setMeta("cursor", "0");
    await tx.setMeta("device_id", "d1");
    await tx.putEvent(row("c", 30));
    await tx.putEvent(row("a", 10, { state: "synced", seq: 1 }));
    await tx.putEvent(row("b", 20, { type: "event.redacted", target: "a", project_id: "p1" }));
    await tx.putEvent(row("e", 20, { device_id: "0000", device_seq: 9, state: "synced", seq: 2 })); // same clock: device_id decides
  });
  // A transaction that throws leaves nothing behind.
  await assert.rejects(
    storage.transaction(async (tx) => {
      await tx.setMeta("cursor", "99");
      await tx.putEvent(row("z", 99));
      await tx.deleteEvent("a");
      throw new Error("boom");
    }),
    /boom/,
  );
  await storage.transaction(async (tx) => {
    await tx.putEvent({ ...(await tx.getEvent("c"))!, code: "unknown_type", message: "later" });
    await tx.putRejected({ id: "r", device_id: "d", device_seq: 1, clock: 5, type: "win.captured", v: 1, project_id: null, body: "{}", code: "invalid_event", message: "bad", rejected_at: "2026-01-01T00:00:00.000000Z" });
    await tx.putAlias("old", "new");
    await tx.putReadModel("timeline:p", '{"x":1}');
    await tx.setMeta("device_id", null);
  });
  const snapshot = (label: string) =>
    storage.transaction(async (tx) => ({
      label,
      cursor: await tx.getMeta("cursor"),
      deviceId: await tx.getMeta("device_id"),
      all: await tx.listEvents(),
      pending: (await tx.listEvents({ state: "pending" })).map((e) => e.id),
      redactionsOfA: (await tx.listEvents({ type: "event.redacted", target: "a" })).map((e) => e.id),
      ofProject: (await tx.listEvents({ projectId: "p1" })).map((e) => e.id),
      ofDevice: (await tx.listEvents({ deviceId: "0000" })).map((e) => e.id),
      missing: await tx.getEvent("z"),
      rejected: await tx.listRejected(),
      alias: [await tx.getAlias("old"), await tx.getAlias("none")],
      readModel: [await tx.getReadModel("timeline:p"), await tx.getReadModel("none")],
    }));
  const before = await snapshot("before recovery");
  const moved = await storage.transaction(async (tx) => [await tx.unconfirmAll(), (await tx.listEvents({ state: "unconfirmed" })).map((e) => [e.id, e.seq]), await tx.requeueUnconfirmed()]);
  const after = await snapshot("after recovery");
  // Transactions run one at a time: 25 concurrent read-modify-writes lose no increment.
  await Promise.all(
    Array.from({ length: 25 }, () =>
      storage.transaction(async (tx) => {
        const n = Number((await tx.getMeta("n")) ?? "0");
        await new Promise((r) => setTimeout(r, 1));
        await tx.setMeta("n", String(n + 1));
      }),
    ),
  );
  const n = await storage.transaction((tx) => tx.getMeta("n"));
  return { before, moved, after, n };
}

test("MemoryStorage and SqliteStorage hold the same after the same operations", async () => {
  const dir = mkdtempSync(join(tmpdir(), "winledger-mobile-"));
  try {
    const memory = await exercise(new MemoryStorage());
    const sqlite = await SqliteStorage.open(betterSqlite3Driver(new Database(join(dir, "journal.db"))));
    const fromSqlite = await exercise(sqlite);
    assert.deepEqual(fromSqlite, memory);
    const m = memory as any;
    assert.deepEqual(m.before.all.map((e: EventRow) => e.id), ["a", "e", "b", "c"], "canonical order");
    assert.equal(m.before.cursor, "0");
    assert.equal(m.before.deviceId, null);
    assert.deepEqual(m.moved, [2, [["a", null], ["e", null]], 2]);
    assert.equal(m.n, "25");
    await sqlite.close();
    // What was committed is on disk: a new connection sees it.
    const reopened = await SqliteStorage.open(betterSqlite3Driver(new Database(join(dir, "journal.db"))));
    assert.deepEqual(await reopened.transaction((tx) => tx.listEvents()), m.after.all);
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a client's journal survives closing and reopening a SQLite file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "winledger-mobile-"));
  try {
    const path = join(dir, "journal.db");
    const open = async () => Client.open({ storage: await SqliteStorage.open(betterSqlite3Driver(new Database(path))), server: "http://127.0.0.1:9" });
    const first = await open();
    const deviceId = await first.deviceId();
    const id = await first.capture("Shipped it", { tags: ["a"] });
    await first.close();
    const second = await open();
    assert.equal(await second.deviceId(), deviceId);
    const next = await second.capture("And again");
    const events = await second.events();
    assert.deepEqual(events.map((e) => [e.id, e.device_seq, e.state]), [[id, 1, "pending"], [next, 2, "pending"]]);
    assert.deepEqual(events[0]?.data, { text: "Shipped it", source: "text", tags: ["a"] });
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the same appends give the same journal in memory and in SQLite (ids aside)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "winledger-mobile-"));
  try {
    const script = async (storage: Storage) => {
      const client = await Client.open({ storage, server: "http://127.0.0.1:9", now: () => 1_772_442_900_413 });
      const p = await client.startProject({ name: "Classifier", kind: "model", team: "Support" });
      const w = await client.capture("Customer Acme loves it", { project: p, tags: ["adoption"] });
      await client.metric(p, { key: "auc", layer: "model", value: 91, low: 89.6, high: 92.3, direction: "higher_is_better" });
      await client.redact(w, { reason: "named a customer" });
      const events = await client.events();
      const ids = new Map(events.map((e, i) => [e.id, `#${i}`]));
      ids.set(p, "#project");
      const strip = (s: string) => s.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (m) => ids.get(m) ?? "#device");
      return events.map((e) => strip(JSON.stringify({ ...e, h: undefined })));
    };
    const memory = await script(new MemoryStorage());
    const sqlite = await script(await SqliteStorage.open(betterSqlite3Driver(new Database(join(dir, "j.db")))));
    assert.deepEqual(sqlite, memory);
    assert.match(memory[1] as string, /"text":"\[redacted\]"/);
    assert.match(memory[1] as string, /"tags":\[\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// expo-sqlite and op-sqlite are React Native modules; here a real SQLite database (better-sqlite3)
// is given their async call shapes, so that the two drivers' own code runs against real SQL.
function expoShaped(db: Database.Database) {
  return {
    async execAsync(source: string) {
      db.exec(source);
    },
    async runAsync(source: string, params: Array<string | number | null>) {
      const r = db.prepare(source).run(...params);
      return { changes: r.changes, lastInsertRowId: Number(r.lastInsertRowid) };
    },
    async getAllAsync<T>(source: string, params: Array<string | number | null>) {
      return db.prepare(source).all(...params) as T[];
    },
    async closeAsync() {
      db.close();
    },
  };
}

function opShaped(db: Database.Database, legacyRows: boolean) {
  return {
    async execute(query: string, params: Array<string | number | null> = []) {
      const statement = db.prepare(query); // one statement only, as op-sqlite's execute
      if (statement.reader) {
        const rows = statement.all(...params) as Array<Record<string, unknown>>;
        return { rowsAffected: 0, rows: legacyRows ? { _array: rows } : rows };
      }
      return { rowsAffected: statement.run(...params).changes };
    },
    close() {
      db.close();
    },
  };
}

test("the expo-sqlite and op-sqlite drivers hold the same as MemoryStorage", async () => {
  const dir = mkdtempSync(join(tmpdir(), "winledger-mobile-"));
  try {
    const memory = await exercise(new MemoryStorage());
    const drivers = [
      ["expo-sqlite", expoSqliteDriver(expoShaped(new Database(join(dir, "expo.db"))))],
      ["op-sqlite", opSqliteDriver(opShaped(new Database(join(dir, "op.db")), false))],
      ["op-sqlite (rows._array)", opSqliteDriver(opShaped(new Database(join(dir, "op-legacy.db")), true))],
    ] as const;
    for (const [name, driver] of drivers) {
      const storage = await SqliteStorage.open(driver);
      assert.deepEqual(await exercise(storage), memory, name);
      await storage.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
