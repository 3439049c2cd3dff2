/**
 * A server older than the client (docs/protocol.md 10.5): what it answers `unknown_type` or
 * `unsupported_version` stays pending, is offered once per sync, is never rejected, and is accepted
 * once the server is upgraded.
 *
 * The older server is a real `winledger serve` process (uvicorn, a real SQLite file) whose schema is
 * the one before `event.redacted` and before version 2 of `metric.observed`: test/support/older_server.py
 * removes those entries from the schema before serving, the way tests/client_sdk/test_unknown_types.py
 * makes an older server in process. Its `/v1/info` lists neither, and its validation refuses both
 * with the codes a real older release gives. "Upgrading" it is serving the same database file with
 * the current `winledger serve` on the same port.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { dataOf, openDevice, syncedIds } from "../support/clients.js";
import { FaultProxy } from "../support/proxy.js";
import { withServer } from "../support/server.js";

test("unknown_type and unsupported_version stay pending on an older server and sync once it is upgraded", { timeout: 90_000 }, async () => {
  await withServer(
    async (server) => {
      const token = await server.createUser("alice");
      const pushedBodies: string[] = [];
      const proxy = await new FaultProxy(() => server.url).start();
      proxy.rule = (request) => {
        if (request.method === "POST") pushedBodies.push(request.body.toString());
        return "forward";
      };
      try {
        const info = (await (
          await fetch(`${server.url}/v1/info`, { headers: { authorization: `Bearer ${token.token}` } })
        ).json()) as { event_types: Record<string, number[]> };
        assert.equal(info.event_types["event.redacted"], undefined);
        assert.deepEqual(info.event_types["metric.observed"], [1]);

        const phone = await openDevice(proxy.url, token.token);
        const project = await phone.startProject({ name: "Pricing", kind: "model" });
        const started = (await phone.events()).find((event) => event.type === "project.started")!.id;
        const win = await phone.capture("The pricing page converts better");
        const secret = await phone.capture("The customer's name is Jane Example");
        const redaction = await phone.redact(secret, { reason: "personal data" });
        const metric = await phone.metric(project, { key: "conversion", layer: "business", value: 3.1, unit: "%" });
        const metricEvent = (await phone.events()).find((event) => event.id === metric)!;
        assert.equal(metricEvent.v, 2, "a client mints the current version of metric.observed");

        const first = await phone.sync();
        assert.equal(first.rejected, 0);
        assert.equal(await phone.pending(), 2);
        assert.deepEqual(await phone.rejected(), []);
        const byId = new Map((await phone.events()).map((event) => [event.id, event]));
        assert.equal(byId.get(redaction)?.state, "pending");
        assert.equal(byId.get(redaction)?.code, "unknown_type");
        assert.equal(byId.get(metric)?.state, "pending");
        assert.equal(byId.get(metric)?.code, "unsupported_version");
        // Offered once in this sync, not retried in a loop.
        assert.equal(pushedBodies.filter((body) => body.includes(redaction)).length, 1);
        assert.equal(pushedBodies.filter((body) => body.includes(metric)).length, 1);

        // The rest synced; the target of the pending redaction left the device already redacted.
        const log = await server.serverLog(token);
        assert.deepEqual(log.ids, [started, win, secret].sort());
        assert.ok(!JSON.stringify(log.events).includes("Jane Example"), "the redacted text reached the server");
        assert.equal(await phone.verify(), true);

        // Offered again on the next sync, still pending, still not rejected.
        pushedBodies.length = 0;
        await phone.sync();
        assert.equal(await phone.pending(), 2);
        assert.deepEqual(await phone.rejected(), []);
        assert.equal(pushedBodies.filter((body) => body.includes(redaction)).length, 1);

        // The server is upgraded: the same database, the current schema.
        await server.stop();
        server.options.withoutTypes = [];
        server.options.withoutVersions = [];
        await server.start({ samePort: true });
        const upgraded = await phone.sync();
        assert.equal(upgraded.accepted, 2);
        assert.equal(await phone.pending(), 0);
        assert.equal(await phone.verify(), true);
        const after = await server.serverLog(token);
        assert.deepEqual(after.ids, [started, win, secret, redaction, metric].sort());
        assert.deepEqual(await syncedIds(phone), after.ids);
        const onServer = after.events.find((event) => event.id === metric)!;
        assert.equal(onServer.v, 2);
        assert.equal(dataOf((await phone.events()).find((e) => e.id === redaction)!).target, secret);
        await phone.close();
      } finally {
        await proxy.stop();
      }
    },
    { withoutTypes: ["event.redacted"], withoutVersions: ["metric.observed:2"] },
  );
});
