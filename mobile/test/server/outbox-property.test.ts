/**
 * A property of the outbox (docs/protocol.md 10.4: lost responses are harmless, never mint new ids to
 * retry): whatever the network does to the syncs of any sequence of appends and syncs (requests lost
 * before the server saw them, answers lost after it acted on them, requests delivered twice), one
 * clean sync afterwards leaves the server holding exactly the appended events, once each, nothing
 * pending, and the device's digest equal to the server's.
 *
 * The faults are real: a loopback proxy in front of a real `winledger serve` closes the connection or
 * sends the request twice or late; they hit the pushes (`POST /v1/sync`), where a lost answer matters.
 * The device keeps its journal in memory or in a SqliteStorage file, as fast-check picks. Each run is a fresh user (and device) on one server; runs are bounded
 * (15 runs, at most 8 steps) so the file takes well under 90 s.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SyncError } from "../../src/index.js";
import { join } from "node:path";
import { openDevice, sqliteStorage, syncedIds } from "../support/clients.js";
import { FaultProxy, type Fault } from "../support/proxy.js";
import { withServer } from "../support/server.js";

/** 15 by default; `PROPERTY_RUNS=200 npm test` searches harder (and takes minutes). */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 15);

type NetFault = "forward" | "drop_request" | "drop_response" | "duplicate" | "delay";
type Step = { kind: "append"; count: number } | { kind: "sync"; faults: NetFault[] };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("append" as const), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({
    kind: fc.constant("sync" as const),
    faults: fc.array(fc.constantFrom<NetFault>("forward", "drop_request", "drop_response", "duplicate", "delay"), {
      minLength: 1,
      maxLength: 6,
    }),
  }),
);

test("under lost requests, lost responses and duplicates, one clean sync leaves each appended event on the server once", { timeout: 30_000 + RUNS * 8_000 }, async () => {
  await withServer(async (server) => {
    const proxy = await new FaultProxy(() => server.url).start();
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), fc.boolean(), async (steps, onSqlite) => {
          run += 1;
          const token = await server.createUser(`user-${run}`);
          proxy.rule = () => "forward";
          const device = await openDevice(proxy.url, token.token, {
            retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
            ...(onSqlite ? { storage: await sqliteStorage(join(server.dir, `device-${run}.db`)) } : {}),
          });
          const appended: string[] = [];
          try {
            for (const s of steps) {
              if (s.kind === "append") {
                for (let i = 0; i < s.count; i++) appended.push(await device.capture(`run ${run} win ${appended.length}`));
                continue;
              }
              // The sync's pushes (its POSTs) meet the faults in order; once they are used up, the network
              // is fine. Reads (/v1/info) pass: losing them risks nothing in the outbox.
              let next = 0;
              proxy.rule = (request): Fault => {
                if (request.method !== "POST") return "forward";
                const fault = s.faults[next++] ?? "forward";
                return fault === "delay" ? { delayMs: 200 } : fault;
              };
              try {
                await device.sync();
              } catch (error) {
                assert.ok(error instanceof SyncError, `sync failed with ${String(error)}, not a SyncError`);
              }
              proxy.rule = () => "forward";
              // Nothing acknowledged or appended is ever lost locally.
              const held = (await device.events()).map((event) => event.id);
              for (const id of appended) assert.ok(held.includes(id), `event ${id} vanished from the device`);
            }
            proxy.rule = () => "forward";
            await device.sync();
            const log = await server.serverLog(token);
            assert.deepEqual(log.ids, [...appended].sort());
            assert.equal(log.count, appended.length);
            assert.equal(await device.pending(), 0);
            assert.deepEqual(await device.rejected(), []);
            assert.deepEqual(await syncedIds(device), [...appended].sort());
            assert.equal(await device.verify(), true);
          } finally {
            await device.close();
          }
        }),
        { numRuns: RUNS, endOnFailure: true, interruptAfterTimeLimit: RUNS * 6_000 },
      );
      // The runs did meet every kind of fault on a push that reached the server or not.
      const met = new Set(proxy.log.filter((entry) => entry.method === "POST").map((entry) => entry.fault));
      for (const fault of ["drop_request", "drop_response", "duplicate", "delayMs"]) assert.ok(met.has(fault), `no push met ${fault}`);
    } finally {
      await proxy.stop();
    }
  });
});
