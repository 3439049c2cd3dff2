// The schema interpreter on the constructs an improved export may use: oneOf with const, $ref, minProperties, if/then.
import assert from "node:assert/strict";
import { test } from "node:test";
import { check } from "../../src/json-schema.js";

const doc = {
  $ref: "#/$defs/Event",
  $defs: {
    Uuid: { type: "string", pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" },
    Text: { type: "string", minLength: 1, maxLength: 3, pattern: "^[^\\u0000]*$" },
    Event: {
      type: "object",
      properties: {
        v: { const: 1, type: "integer" },
        project_id: { $ref: "#/$defs/Uuid" },
        data: {
          type: "object",
          minProperties: 1,
          properties: { note: { $ref: "#/$defs/Text" }, low: { type: "number" }, high: { type: "number" } },
          dependentRequired: { low: ["high"] },
          additionalProperties: false,
        },
        kind: { oneOf: [{ const: "a" }, { const: "b" }] },
      },
      required: ["v", "data"],
      if: { properties: { kind: { const: "a" } }, required: ["kind"] },
      then: { required: ["project_id"] },
      additionalProperties: false,
    },
  },
};

test("accepts what conforms and names the field of what does not", () => {
  assert.equal(check(doc, { v: 1, data: { note: "😀😀😀" } }), null);
  assert.equal(check(doc, { v: 2, data: { note: "x" } })?.path, "v");
  assert.equal(check(doc, { v: 1, data: {} })?.path, "data");
  assert.equal(check(doc, { v: 1, data: { note: "a\u0000" } })?.path, "data.note");
  assert.equal(check(doc, { v: 1, data: { note: "😀😀😀😀" } })?.path, "data.note");
  assert.equal(check(doc, { v: 1, data: { low: 1 } })?.path, "data.high");
  assert.equal(check(doc, { v: 1, data: { note: "x" }, kind: "c" })?.path, "kind");
  assert.equal(check(doc, { v: 1, data: { note: "x" }, kind: "a" })?.path, "project_id");
  assert.equal(check(doc, { v: 1, data: { note: "x" }, kind: "b" }), null);
  assert.equal(check(doc, { v: 1, data: { note: "x" }, extra: true })?.path, "extra");
  assert.equal(check(doc, { v: 1.5, data: { note: "x" } })?.path, "v");
  assert.equal(check({ type: "number" }, Number.POSITIVE_INFINITY)?.path, "");
});
