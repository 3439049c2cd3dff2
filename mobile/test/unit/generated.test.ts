// src/generated/schemas.ts is what `winledger schema export` gives today (`npm run generate` rewrites it).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { packageRoot } from "./paths.js";

test("src/generated/schemas.ts is up to date with `winledger schema export`", () => {
  const run = spawnSync(process.execPath, [join(packageRoot, "scripts", "generate-schemas.mjs"), "--check"], { encoding: "utf8" });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /is up to date/);
});
