/**
 * A mixed fleet: one user with a Python device (the `winledger` command, its own journal file and
 * home folder: `winledger login` with the token on standard input, `winledger win`, `winledger sync`)
 * and a TypeScript device (a SqliteStorage file), capturing offline and syncing in orders fast-check picks. After each
 * device syncs twice at the end, both hold the same synced event set as the server, and the same
 * digest: the Python journal's (client_sdk's own hash, through pydevice.py), the TypeScript client's
 * (`verify()` and its stored hashes), and the server's (`GET /v1/events` `count` and `digest`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { digestOfHashes } from "../../src/index.js";
import { join } from "node:path";
import { capturedTexts, dataOf, openDevice, sqliteStorage, syncedIds } from "../support/clients.js";
import { PythonDevice } from "../support/python-device.js";
import { withServer } from "../support/server.js";

/** 5 by default; `FLEET_RUNS=30 npm test` tries more orders (each run takes a few seconds). */
const RUNS = Number(process.env.FLEET_RUNS ?? 5);

type Move = "py.win" | "ts.capture" | "py.sync" | "ts.sync";

test("a Python device and a TypeScript device of one user converge on the same events and digest, in any order", { timeout: 60_000 + RUNS * 20_000 }, async () => {
  await withServer(async (server) => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Move>("py.win", "ts.capture", "py.sync", "ts.sync"), { minLength: 2, maxLength: 6 }),
        async (moves) => {
          run += 1;
          const name = `fleet-${run}`;
          const laptopToken = await server.createUser(name, "laptop");
          const phoneToken = await server.createToken(name, "phone");
          const laptop = new PythonDevice(server.dir, `laptop-${run}`);
          await laptop.login(server.url, laptopToken.token);
          const phone = await openDevice(server.url, phoneToken.token, {
            storage: await sqliteStorage(join(server.dir, `phone-${run}.db`)),
          });
          try {
            const captured: string[] = [];
            // Both start with something captured offline, so every order mixes the two devices' events.
            captured.push(await laptop.win(`laptop ${run}: first, offline`));
            captured.push(await phone.capture(`phone ${run}: first, offline`));
            for (const move of moves) {
              if (move === "py.win") captured.push(await laptop.win(`laptop ${run}: win ${captured.length}`));
              else if (move === "ts.capture") captured.push(await phone.capture(`phone ${run}: win ${captured.length}`));
              else if (move === "py.sync") await laptop.sync();
              else await phone.sync();
            }
            await laptop.sync();
            await phone.sync();
            await laptop.sync();

            const everything = [...captured].sort();
            const log = await server.serverLog(phoneToken);
            assert.deepEqual(log.ids, everything);
            assert.equal(log.count, everything.length);

            const journal = await laptop.journal();
            assert.deepEqual(journal.pending, []);
            assert.deepEqual(journal.rejected, []);
            assert.deepEqual(journal.synced, everything);
            assert.equal(journal.count, log.count);
            assert.equal(journal.digest, log.digest);

            assert.equal(await phone.pending(), 0);
            assert.deepEqual(await syncedIds(phone), everything);
            assert.equal(digestOfHashes((await phone.events()).map((event) => event.h)), log.digest);
            assert.equal(await phone.verify(), true);
            assert.deepEqual(await capturedTexts(phone), journal.texts);
          } finally {
            await phone.close();
          }
        },
      ),
      { numRuns: RUNS, endOnFailure: true },
    );
  });
});

test("redactions cross the fleet: each device erases the other's text, and the three digests agree", { timeout: 90_000 }, async () => {
  await withServer(async (server) => {
    const laptopToken = await server.createUser("alice", "laptop");
    const phoneToken = await server.createToken("alice", "phone");
    const laptop = new PythonDevice(server.dir, "laptop");
    await laptop.login(server.url, laptopToken.token);
    const phone = await openDevice(server.url, phoneToken.token, { storage: await sqliteStorage(join(server.dir, "phone.db")) });
    try {
      const fromPhone = await phone.capture("Called Jane Example at ACME about the renewal", { tags: ["acme"] });
      const fromLaptop = await laptop.win("Bob Example's team adopted the dashboard");
      await phone.sync();
      await laptop.sync();
      await phone.sync();

      // Each erases the other's text, on its own copy first, then everywhere through the server.
      const byLaptop = await laptop.takeBack("redact", fromPhone, "named a customer");
      const byPhone = await phone.redact(fromLaptop, { reason: "named a person" });
      const phoneCopy = (await phone.events()).find((event) => event.id === fromLaptop)!;
      assert.deepEqual(dataOf(phoneCopy), { text: "[redacted]", source: "text" });
      await laptop.sync();
      await phone.sync();
      await laptop.sync();

      const log = await server.serverLog(phoneToken);
      const everything = [fromPhone, fromLaptop, byLaptop, byPhone].sort();
      assert.deepEqual(log.ids, everything);
      const wire = JSON.stringify(log.events);
      assert.ok(!wire.includes("Jane Example") && !wire.includes("Bob Example"), "a redacted text is still on the server");
      const phoneTarget = (await phone.events()).find((event) => event.id === fromPhone)!;
      assert.deepEqual(dataOf(phoneTarget), { text: "[redacted]", source: "text", tags: [] });

      const journal = await laptop.journal();
      assert.deepEqual(journal.synced, everything);
      assert.deepEqual(journal.texts, ["[redacted]", "[redacted]"]);
      assert.equal(journal.digest, log.digest);
      assert.deepEqual(await syncedIds(phone), everything);
      assert.equal(digestOfHashes((await phone.events()).map((event) => event.h)), log.digest);
      assert.equal(await phone.verify(), true);
    } finally {
      await phone.close();
    }
  });
});
