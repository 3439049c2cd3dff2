/** TypeScript devices for the server tests: a Client over MemoryStorage or a SqliteStorage file. */
import Database from "better-sqlite3";
import { Client, MemoryStorage, SqliteStorage, betterSqlite3Driver } from "../../src/index.js";
import type { RetryOptions, Storage, StoredEvent } from "../../src/index.js";

/** Retries short enough for tests (the defaults wait seconds); tests of backoff pass their own. */
export const QUICK_RETRY: RetryOptions = { attempts: 3, baseDelayMs: 5, maxDelayMs: 50 };

export async function sqliteStorage(path: string): Promise<Storage> {
  return SqliteStorage.open(betterSqlite3Driver(new Database(path)));
}

export async function openDevice(
  server: string,
  token: string | undefined,
  options: { storage?: Storage; retry?: RetryOptions; now?: () => number } = {},
): Promise<Client> {
  return Client.open({
    storage: options.storage ?? new MemoryStorage(),
    server,
    ...(token === undefined ? {} : { token }),
    retry: options.retry ?? QUICK_RETRY,
    ...(options.now ? { now: options.now } : {}),
  });
}

/** The `data` of a stored event. */
export function dataOf(event: StoredEvent): Record<string, unknown> {
  return event.data;
}

/** The texts of the `win.captured` events a client holds, sorted. */
export async function capturedTexts(client: Client): Promise<string[]> {
  const events = await client.events();
  return events
    .filter((event) => event.type === "win.captured")
    .map((event) => String(dataOf(event).text))
    .sort();
}

/** The ids of the events a client holds in state `synced`, sorted. */
export async function syncedIds(client: Client): Promise<string[]> {
  return (await client.events()).filter((event) => event.state === "synced").map((event) => event.id).sort();
}

/** The ids of every event a client holds (any state), sorted. */
export async function allIds(client: Client): Promise<string[]> {
  return (await client.events()).map((event) => event.id).sort();
}
