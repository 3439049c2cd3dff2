// Redactions on the device (10.5): the target's free text goes in the same transaction, before any push.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, eventHash, MemoryStorage } from "../../src/index.js";

test("redacting a pending event rewrites it at once: free text to [redacted], tags to [], the rest kept, h recomputed", async () => {
  const client = await Client.open({ storage: new MemoryStorage(), server: "http://127.0.0.1:9" });
  const p = await client.startProject({ name: "Project Acme", kind: "model", summary: "For Acme Corp" });
  const w = await client.capture("Acme's CFO said yes", { project: p, tags: ["acme"], source: "voice" });
  const m = await client.metric(p, { key: "savings", layer: "business", value: 14, unit: "hours/week", label: "Acme hours", measure: "change" });
  const before = (await client.events()).find((e) => e.id === w)!;
  const r1 = await client.redact(w, { reason: "customer name" });
  const started = (await client.events()).find((e) => e.type === "project.started")!;
  await client.redact(started.id);
  await client.redact(m);
  const events = await client.events();
  const win = events.find((e) => e.id === w)!;
  assert.deepEqual(win.data, { text: "[redacted]", source: "voice", tags: [] });
  assert.equal(win.clock, before.clock);
  assert.equal(win.occurred_at, before.occurred_at);
  assert.equal(win.project_id, p);
  assert.equal(win.state, "pending");
  const { state: _s, seq: _q, h, code: _c, message: _m, ...fields } = win;
  assert.equal(h, await eventHash(fields));
  assert.notEqual(h, before.h);
  assert.deepEqual(events.find((e) => e.id === started.id)!.data, { name: "[redacted]", kind: "model", summary: "[redacted]" });
  assert.deepEqual(events.find((e) => e.id === m)!.data, { key: "savings", layer: "business", value: 14, unit: "hours/week", label: "[redacted]", measure: "change" });
  const redaction = events.find((e) => e.id === r1)!;
  assert.deepEqual(redaction.data, { target: w, reason: "customer name" });
  // Redacting again changes nothing.
  await client.redact(w);
  assert.deepEqual((await client.events()).find((e) => e.id === w)!.h, h);
});
