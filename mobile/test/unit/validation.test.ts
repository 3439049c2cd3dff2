// Local validation: what the server refuses is refused on the device, naming the field, and nothing is stored.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, MemoryStorage, ValidationError } from "../../src/index.js";
import { validateEvent } from "../../src/validate.js";
import { readVectors } from "./paths.js";

const vectors = readVectors();
const A3 = vectors.events.find((e: any) => e.normalized.type === "metric.observed" && e.normalized.v === 1)?.pushed;
const base = {
  id: "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80",
  device_id: "5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
  device_seq: 1,
  clock: 1809639014400000,
  occurred_at: "2026-03-14T09:26:53Z",
  project_id: "0190b4c2-0000-7000-8000-000000000001",
};
const win = { ...base, type: "win.captured", v: 1, data: { text: "Shipped", source: "text" } };
const metric = { ...base, type: "metric.observed", v: 2, data: { key: "auc", layer: "model", value: 0.9 } };

function refused(event: Record<string, unknown>, field: string, code = "invalid_event"): ValidationError {
  try {
    validateEvent(event);
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.field, field, error.message);
    assert.equal(error.code, code, error.message);
    assert.ok(error.message.includes(field), `the message names ${field}: ${error.message}`);
    return error;
  }
  assert.fail(`accepted: ${JSON.stringify(event).slice(0, 200)}`);
}

test("accepts the vectors' events and the examples' shapes", () => {
  for (const v of vectors.events) validateEvent(v.pushed);
  validateEvent(win);
  validateEvent(metric);
  assert.ok(A3);
});

test("refuses bad timestamps: no zone, 30 February, year 2100, words", () => {
  refused({ ...win, occurred_at: "2026-03-14T09:26:53" }, "occurred_at");
  refused({ ...win, occurred_at: "2026-02-30T00:00:00Z" }, "occurred_at");
  refused({ ...win, occurred_at: "2100-01-01T00:00:00Z" }, "occurred_at");
  refused({ ...win, occurred_at: "yesterday" }, "occurred_at");
});

test("refuses what the per-type schema says: enums, lengths in code points, patterns, unknown fields, v", () => {
  refused({ ...win, data: { text: "x", source: "Voice" } }, "data.source");
  refused({ ...win, data: { text: "", source: "text" } }, "data.text");
  validateEvent({ ...win, data: { text: "😀".repeat(10000), source: "text" } }); // 10,000 code points, 20,000 UTF-16 units
  refused({ ...win, data: { text: "😀".repeat(10001), source: "text" } }, "data.text");
  refused({ ...win, data: { text: "x", source: "text", tags: Array.from({ length: 21 }, (_, i) => `t${i}`) } }, "data.tags");
  refused({ ...win, data: { text: "x", source: "text", tags: [""] } }, "data.tags.0");
  refused({ ...win, data: { text: "x", source: "text", mood: "good" } }, "data.mood");
  refused({ ...win, seq: 3 }, "seq");
  refused({ ...win, id: "0190B4C2-7A1E-7C3D-9F2A-3B4C5D6E7F80" }, "id");
  refused({ ...win, clock: 1.5 }, "clock");
  refused({ ...win, device_seq: 0 }, "device_seq");
  refused({ ...metric, data: { key: "Bad Key", layer: "model", value: 1 } }, "data.key");
  refused({ ...metric, data: { key: "auc\n", layer: "model", value: 1 } }, "data.key");
  refused({ ...metric, data: { key: "auc", layer: "model", value: 1, measure: null } }, "data.measure");
  refused({ ...metric, v: 1, data: { key: "auc", layer: "model", value: 1, direction: "none" } }, "data.direction");
  refused({ ...win, v: 2 }, "v", "unsupported_version");
  refused({ ...win, v: 0 }, "v", "unsupported_version");
  refused({ ...win, type: "win.shouted" }, "type", "unknown_type");
});

test("refuses what only the cross-field rules say", () => {
  refused({ ...base, type: "milestone.reached", v: 1, project_id: null, data: { milestone: "deployed" } }, "project_id");
  refused({ ...base, type: "project.updated", v: 1, data: {} }, "data");
  refused({ ...base, type: "project.updated", v: 1, data: { name: null } }, "data");
  refused({ ...metric, data: { key: "auc", layer: "model", value: 0.9, low: 0.95, high: 0.8 } }, "data.low");
  refused({ ...metric, data: { key: "auc", layer: "model", value: 0.99, low: 0.8, high: 0.95 } }, "data.value");
  refused({ ...metric, data: { key: "auc", layer: "model", value: 0.9, low: 0.8 } }, "data.high");
  refused({ ...win, data: { text: "a\u0000b", source: "text" } }, "data.text");
  refused({ ...win, data: { text: "a\ud800b", source: "text" } }, "data.text");
  refused({ ...base, project_id: null, type: "event.redacted", v: 1, data: { target: base.id } }, "data.target");
});

test("normalizes: UTC timestamp, null optionals left out, measure level left out, project_id null", () => {
  const e = validateEvent({
    ...metric,
    occurred_at: "2026-03-14T10:26:53.5+01:00",
    data: { key: "auc", layer: "model", value: -0, unit: null, measure: "level" },
  });
  assert.equal(e.occurred_at, "2026-03-14T09:26:53.500000Z");
  assert.deepEqual(e.data, { key: "auc", layer: "model", value: 0 });
  const w = validateEvent({ ...win, project_id: undefined });
  assert.equal(w.project_id, null);
});

test("append methods validate locally, name the field, store nothing and never touch the network", async () => {
  let fetched = 0;
  const client = await Client.open({
    storage: new MemoryStorage(),
    server: "http://127.0.0.1:9",
    fetch: (async () => {
      fetched++;
      throw new Error("no network in this test");
    }) as typeof fetch,
  });
  const cases: Array<[() => Promise<unknown>, string]> = [
    [() => client.capture(""), "data.text"],
    [() => client.capture("x", { source: "telepathy" }), "data.source"],
    [() => client.capture("x", { occurredAt: "2026-03-14T09:26:53" }), "occurred_at"],
    [() => client.startProject({ name: "P", kind: "vibes" }), "data.kind"],
    [() => client.milestone("not-a-uuid", "deployed"), "project_id"],
    [() => client.metric("0190b4c2-0000-7000-8000-000000000001", { key: "auc", layer: "model", value: 2, low: 0, high: 1 }), "data.value"],
    [() => client.metric("0190b4c2-0000-7000-8000-000000000001", { key: "auc", layer: "model", value: Number.NaN }), "data.value"],
    [() => client.linkMetrics("0190b4c2-0000-7000-8000-000000000001", { cause: "a", effect: "b", evidence: "vibes" }), "data.evidence"],
    [() => client.feedback("0190b4c2-0000-7000-8000-000000000001", { quote: "q".repeat(2001) }), "data.quote"],
    [() => client.learning("x", { kind: "forgot" }), "data.kind"],
    [() => client.retract("nope"), "data.target"],
    [() => client.redact("nope"), "data.target"],
  ];
  for (const [call, field] of cases) {
    await assert.rejects(call, (error: unknown) => error instanceof ValidationError && error.field === field, field);
  }
  assert.equal(await client.pending(), 0);
  assert.deepEqual(await client.events(), []);
  const id = await client.capture("fine");
  const [only] = await client.events();
  assert.equal(only?.id, id);
  assert.equal(only?.device_seq, 1, "a refused append uses no device_seq");
  assert.equal(fetched, 0);
});
