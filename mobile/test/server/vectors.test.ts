/**
 * The protocol's test vectors (docs/protocol-vectors.json) through a real server: each vector pushed
 * as a client might push it comes back from the server in its normalized form; a TypeScript device
 * that pulls them stores each with the vector's hash `h`, and its digest is the server's, so
 * `verify()` holds. The vectors' digests of sets are the server's for the same sets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { digestOfHashes } from "../../src/index.js";
import { openDevice } from "../support/clients.js";
import { repoRoot, withServer } from "../support/server.js";

interface Vector {
  id: string;
  pushed: Record<string, unknown> & { id: string };
  normalized: Record<string, unknown>;
  hash: string;
}

interface Vectors {
  events: Vector[];
  digests: Array<{ name: string; events: string[]; digest: string }>;
}

test("the protocol's vectors pushed to a real server are pulled by the SDK with their hashes and digest", { timeout: 60_000 }, async () => {
  const vectors = JSON.parse(readFileSync(join(repoRoot, "docs", "protocol-vectors.json"), "utf8")) as Vectors;
  await withServer(async (server) => {
    const token = await server.createUser("alice");
    const response = await fetch(`${server.url}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${token.token}`, "content-type": "application/json" },
      body: JSON.stringify({ events: vectors.events.map((vector) => vector.pushed) }),
      signal: AbortSignal.timeout(20_000),
    });
    const answer = (await response.json()) as { results: Array<{ status: string; message?: string }> };
    assert.deepEqual(
      answer.results.map((result) => result.status),
      vectors.events.map(() => "accepted"),
      JSON.stringify(answer.results),
    );

    const log = await server.serverLog(token);
    for (const vector of vectors.events) {
      const held = log.events.find((event) => event.id === vector.pushed.id)!;
      const { seq: _seq, received_at: _received, ...fields } = held;
      assert.deepEqual(fields, vector.normalized, `${vector.id}: the server's normalized form`);
    }
    const byName = new Map(vectors.events.map((vector) => [vector.id, vector.hash]));
    assert.equal(log.digest, digestOfHashes(vectors.events.map((vector) => vector.hash)));
    for (const set of vectors.digests) {
      assert.equal(digestOfHashes(set.events.map((name) => byName.get(name)!)), set.digest, set.name);
    }

    const phone = await openDevice(server.url, token.token);
    const report = await phone.sync();
    assert.equal(report.pulled, vectors.events.length);
    const stored = new Map((await phone.events()).map((event) => [event.id, event]));
    for (const vector of vectors.events) {
      assert.equal(stored.get(vector.pushed.id)?.h, vector.hash, `${vector.id}: the SDK's h of the pulled event`);
      assert.equal(stored.get(vector.pushed.id)?.state, "synced");
    }
    assert.equal(await phone.verify(), true);
    await phone.close();
  });
});
