// UUIDv7 ids and the clock of appended events.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, MemoryStorage } from "../../src/index.js";
import { nextClock, UuidMinter, UUID_PATTERN } from "../../src/ids.js";

test("UUIDv7: canonical lowercase, version 7, variant 10, the millisecond in the first 48 bits", () => {
  const ms = Date.UTC(2026, 2, 14, 9, 26, 53, 589);
  const id = new UuidMinter(() => ms).mint();
  assert.match(id, UUID_PATTERN);
  assert.equal(id[14], "7");
  assert.ok("89ab".includes(id[19] as string), id);
  assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), ms);
});

test("UUIDv7: strictly increasing within one millisecond, and when the wall clock steps back", () => {
  let now = 1_772_442_900_413;
  const minter = new UuidMinter(() => now);
  const ids: string[] = [];
  for (let i = 0; i < 5000; i++) {
    if (i === 2500) now -= 60_000; // the wall clock jumps back a minute
    ids.push(minter.mint());
  }
  for (let i = 1; i < ids.length; i++) assert.ok((ids[i - 1] as string) < (ids[i] as string), `${ids[i - 1]} < ${ids[i]}`);
  assert.equal(new Set(ids).size, ids.length);
});

test("nextClock never goes back and stays exact above 2^32 (no 32-bit shift)", () => {
  let last = 0;
  const nows = [1_772_442_900_413, 1_772_442_900_413, 1_772_442_800_000, 4_102_444_799_999];
  for (const now of nows) {
    const clock = nextClock(now, last);
    assert.ok(clock > last);
    assert.ok(Number.isSafeInteger(clock));
    last = clock;
  }
  assert.equal(nextClock(4_102_444_799_999, 0), 4_102_444_799_999 * 1024);
});

test("appends: device_seq 1, 2, 3 ... and increasing clocks and ids, with a frozen wall clock", async () => {
  const now = 1_772_442_900_413;
  const client = await Client.open({ storage: new MemoryStorage(), server: "http://127.0.0.1:9", now: () => now });
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) ids.push(await client.capture(`win ${i}`));
  const events = await client.events();
  assert.deepEqual(events.map((e) => e.device_seq), Array.from({ length: 50 }, (_, i) => i + 1));
  assert.deepEqual(events.map((e) => e.clock), Array.from({ length: 50 }, (_, i) => now * 1024 + i));
  assert.deepEqual(events.map((e) => e.id), ids);
  assert.deepEqual([...ids].sort(), ids);
  assert.ok(events.every((e) => e.device_id === events[0]?.device_id && e.state === "pending"));
  assert.equal(events[0]?.occurred_at, "2026-03-02T09:15:00.413000Z");
  assert.equal(await client.pending(), 50);
});
