// The protocol's own test vectors (docs/protocol-vectors.json) against this SDK's JCS, hash,
// digest, normalization, timestamps and clock.
import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson, digestOf, eventHash } from "../../src/index.js";
import { sha256Hex } from "../../src/jcs.js";
import { nextClock } from "../../src/ids.js";
import { normalizeTimestamp } from "../../src/time.js";
import { validateEvent } from "../../src/validate.js";
import { readVectors } from "./paths.js";

const vectors = readVectors();

test("every event vector: normalized form, JCS text, SHA-256 and h", async () => {
  assert.ok(vectors.events.length >= 7);
  for (const v of vectors.events) {
    const normalized = validateEvent(v.pushed);
    assert.deepEqual(normalized, v.normalized, `${v.id}: normalized form`);
    assert.equal(canonicalJson(normalized), v.jcs, `${v.id}: JCS of our normalized form`);
    assert.equal(canonicalJson(v.normalized), v.jcs, `${v.id}: JCS of the vector's normalized form`);
    assert.equal(await sha256Hex(v.jcs), v.sha256, `${v.id}: SHA-256`);
    assert.equal(await eventHash(normalized), v.hash, `${v.id}: h`);
  }
});

test("eventHash leaves seq and received_at out (an event as pulled)", async () => {
  const v = vectors.events[0];
  assert.equal(await eventHash({ ...v.normalized, seq: 7, received_at: "2026-11-27T18:40:02.946915Z" }), v.hash);
});

test("every digest vector, including a sum past 2^128 and an event held twice", async () => {
  const byId = new Map<string, unknown>(vectors.events.map((e: any) => [e.id, e.normalized]));
  for (const d of vectors.digests) {
    const events = d.events.map((id: string) => byId.get(id) as object);
    assert.equal(await digestOf(events), d.digest, d.name);
    const hashes = await Promise.all(events.map((e: object) => eventHash(e)));
    assert.equal(await digestOf(hashes), d.digest, `${d.name} from h values`);
  }
});

test("every JCS number vector, from the IEEE 754 bits", () => {
  for (const n of vectors.jcs_numbers) {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt("0x" + n.bits));
    const x = view.getFloat64(0);
    assert.equal(canonicalJson(x), n.jcs, `${n.bits} (${n.double})`);
    assert.equal(canonicalJson({ value: x }), `{"value":${n.jcs}}`);
  }
});

test("every timestamp vector: normalized, or refused with the server's message", () => {
  assert.ok(vectors.timestamps.length >= 15);
  for (const t of vectors.timestamps) {
    const got = normalizeTimestamp(t.sent);
    if (t.normalized !== undefined) assert.deepEqual(got, { value: t.normalized }, t.sent);
    else assert.deepEqual(got, { error: t.error }, t.sent);
  }
});

test("every clock vector: max(now_ms * 1024, last_clock + 1)", () => {
  for (const c of vectors.clocks) {
    assert.equal(nextClock(c.now_ms, c.last_clock), c.clock, c.now);
    assert.equal(nextClock(Date.parse(c.now), c.last_clock), c.clock, c.now);
  }
});
