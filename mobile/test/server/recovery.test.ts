/**
 * Every recovery rule of docs/protocol.md sections 9 and 10, on a real server whose store is restored
 * the ways an operator restores one: `admin restore` from a backup (a new epoch), a database file
 * copied back by hand (`409 cursor_ahead`), the same copied back after another device pushed past the
 * cursor (only the digest notices), and a device's SQLite journal copied to a second phone
 * (`device_seq_conflict`). Each ends with nothing lost: the server holds every event the devices
 * appended, nothing is pending, and every device verifies.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capturedTexts, dataOf, openDevice, sqliteStorage, syncedIds } from "../support/clients.js";
import { FaultProxy } from "../support/proxy.js";
import { withServer } from "../support/server.js";

test("a restore from backup (new epoch): devices pull from 0 and push back what the backup lacks", { timeout: 90_000 }, async () => {
  await withServer(async (server) => {
    const phoneToken = await server.createUser("alice", "phone");
    const tabletToken = await server.createToken("alice", "tablet");
    const proxy = await new FaultProxy(() => server.url).start();
    try {
      const phone = await openDevice(proxy.url, phoneToken.token);
      const tablet = await openDevice(server.url, tabletToken.token);

      const before = [await phone.capture("before the backup 1"), await phone.capture("before the backup 2")];
      await phone.sync();
      const backup = await server.backup();
      const oldEpoch = (await server.serverLog(phoneToken)).epoch;

      const fromTablet = await tablet.capture("tablet, after the backup");
      await tablet.sync();
      const after = [await phone.capture("after the backup 1"), await phone.capture("after the backup 2")];
      await phone.sync(); // pushes its two and pulls the tablet's
      const everything = [...before, ...after, fromTablet].sort();
      assert.deepEqual((await server.serverLog(phoneToken)).ids, everything);

      await server.restoreFromBackup(backup);
      const restored = await server.serverLog(phoneToken);
      assert.notEqual(restored.epoch, oldEpoch);
      assert.deepEqual(restored.ids, [...before].sort());

      // The phone pushes back its own lost events and the tablet's, which it had pulled, with one it
      // captured since. It sees the new epoch in /v1/info and never pulls with the old cursor: its
      // first pull is from 0, and no 409.
      const since = await phone.capture("captured after the restore");
      everything.push(since);
      everything.sort();
      const pushesBefore = proxy.requests("/v1/sync").length;
      proxy.log.length = 0;
      await phone.sync();
      const syncs = proxy.log.filter((entry) => entry.path.startsWith("/v1/sync"));
      assert.ok(pushesBefore > 0 && syncs.length > 0);
      assert.ok(!proxy.log.some((entry) => entry.status === 409), "the phone pulled with the old epoch's cursor");
      assert.equal(syncs[0]!.after, 0, "the first pull in the new epoch is not from 0");
      assert.equal(await phone.pending(), 0);
      assert.equal(await phone.verify(), true);
      const healed = await server.serverLog(phoneToken);
      assert.deepEqual(healed.ids, everything);
      assert.equal(healed.count, everything.length);
      assert.deepEqual(await syncedIds(phone), everything);

      // The tablet re-pushes its event too (a duplicate now), and agrees.
      await tablet.sync();
      assert.equal(await tablet.pending(), 0);
      assert.equal(await tablet.verify(), true);
      assert.deepEqual(await syncedIds(tablet), everything);
      assert.deepEqual((await server.serverLog(phoneToken)).ids, everything);
      await phone.close();
      await tablet.close();
    } finally {
      await proxy.stop();
    }
  });
});

test("409 cursor_ahead (a database file copied back by hand): the device recovers and pushes back what was lost", { timeout: 90_000 }, async () => {
  await withServer(async (server) => {
    const token = await server.createUser("alice");
    const proxy = await new FaultProxy(() => server.url).start();
    try {
      const phone = await openDevice(proxy.url, token.token);
      const kept = [await phone.capture("kept 1"), await phone.capture("kept 2")];
      await phone.sync();
      const aside = await server.copyDatabaseAside();
      const epoch = (await server.serverLog(token)).epoch;
      const lost = [await phone.capture("lost 1"), await phone.capture("lost 2"), await phone.capture("lost 3")];
      await phone.sync();
      assert.equal((await server.serverLog(token)).count, 5);

      await server.copyDatabaseBack(aside);
      const back = await server.serverLog(token);
      assert.deepEqual(back.ids, [...kept].sort());
      assert.equal(back.epoch, epoch); // by hand: the epoch did not change

      lost.push(await phone.capture("captured after the copy went back")); // pending during the recovery
      await phone.sync();
      assert.ok(
        proxy.log.some((entry) => entry.status === 409),
        `the server never answered 409 cursor_ahead: ${JSON.stringify(proxy.log.map((e) => [e.path, e.status]))}`,
      );
      assert.equal(await phone.pending(), 0);
      assert.equal(await phone.verify(), true);
      const healed = await server.serverLog(token);
      assert.deepEqual(healed.ids, [...kept, ...lost].sort());
      assert.deepEqual(await syncedIds(phone), [...kept, ...lost].sort());
      await phone.close();
    } finally {
      await proxy.stop();
    }
  });
});

test("a store copied back by hand after another device pushed past the cursor: the digest notices, the device recovers", { timeout: 90_000 }, async () => {
  await withServer(async (server) => {
    const phoneToken = await server.createUser("alice", "phone");
    const tabletToken = await server.createToken("alice", "tablet");
    const proxy = await new FaultProxy(() => server.url).start();
    try {
      const phone = await openDevice(proxy.url, phoneToken.token);
      const tablet = await openDevice(server.url, tabletToken.token);
      const kept = [await phone.capture("kept 1"), await phone.capture("kept 2")];
      await phone.sync();
      const aside = await server.copyDatabaseAside();
      const lost = [await phone.capture("lost 1"), await phone.capture("lost 2")];
      await phone.sync(); // the phone's cursor is now 4

      await server.copyDatabaseBack(aside); // the server holds seq 1 and 2 again
      await tablet.sync();
      const fromTablet = [
        await tablet.capture("tablet 1"),
        await tablet.capture("tablet 2"),
        await tablet.capture("tablet 3"),
      ];
      await tablet.sync(); // seq 3, 4 and 5: past the phone's cursor, so no cursor_ahead for it
      assert.equal((await server.serverLog(phoneToken)).count, 5);

      proxy.log.length = 0;
      await phone.sync();
      assert.ok(!proxy.log.some((entry) => entry.status === 409), "a 409 was not expected here");
      assert.equal(await phone.pending(), 0);
      assert.equal(await phone.verify(), true);
      const everything = [...kept, ...lost, ...fromTablet].sort();
      assert.deepEqual((await server.serverLog(phoneToken)).ids, everything);
      assert.deepEqual(await syncedIds(phone), everything);

      await tablet.sync();
      assert.equal(await tablet.verify(), true);
      assert.deepEqual(await syncedIds(tablet), everything);
      assert.deepEqual(await capturedTexts(tablet), await capturedTexts(phone));
      await phone.close();
      await tablet.close();
    } finally {
      await proxy.stop();
    }
  });
});

test("device_seq_conflict (a SQLite journal copied to a second phone): a new device id, re-minted events, nothing lost", { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "winledger-ts-journals-"));
  try {
    await withServer(async (server) => {
      const token = await server.createUser("alice");
      const originalPath = join(dir, "original.db");
      const copyPath = join(dir, "restored.db");
      let original = await openDevice(server.url, token.token, { storage: await sqliteStorage(originalPath) });
      const project = await original.startProject({ name: "Pricing model", kind: "model" });
      await original.sync();
      await original.close(); // closed, as a backup tool would copy it
      copyFileSync(originalPath, copyPath);

      original = await openDevice(server.url, token.token, { storage: await sqliteStorage(originalPath) });
      const restored = await openDevice(server.url, token.token, { storage: await sqliteStorage(copyPath) });
      const shared = await original.deviceId();
      assert.equal(await restored.deviceId(), shared);

      await original.capture("original: shadow run beat the heuristic by 11pp", { project });
      await original.capture("original: went live", { project });
      const mistaken = await restored.capture("restored: typo'd win", { project });
      const kept = await restored.capture("restored: merchandising adopted it", { project });
      await restored.retract(mistaken, { reason: "typo" });
      const originalReport = await original.sync();
      assert.equal(originalReport.accepted, 2);

      await restored.sync();
      const moved = await restored.deviceId();
      assert.notEqual(moved, shared);
      assert.equal(await restored.pending(), 0);
      assert.deepEqual(await restored.rejected(), []);

      const log = await server.serverLog(token);
      const textOnServer = (text: string) => log.events.filter((e) => e.type === "win.captured" && e.data.text === text);
      for (const text of [
        "original: shadow run beat the heuristic by 11pp",
        "original: went live",
        "restored: typo'd win",
        "restored: merchandising adopted it",
      ]) {
        assert.equal(textOnServer(text).length, 1, `${text} is on the server once`);
      }
      // The re-minted events carry the new device id; the retraction follows its target to its new id.
      const typo = textOnServer("restored: typo'd win")[0]!;
      assert.equal(typo.device_id, moved);
      assert.notEqual(typo.id, mistaken);
      assert.ok(
        log.events.some((e) => e.type === "event.retracted" && e.data.target === typo.id),
        "a retraction of the typo's new id is on the server",
      );

      // An id handed out before the move still resolves: retracting it retracts the event under its new id.
      const keptOnServer = textOnServer("restored: merchandising adopted it")[0]!;
      const late = await restored.retract(kept, { reason: "changed my mind" });
      const lateEvent = (await restored.events()).find((e) => e.id === late)!;
      assert.equal(dataOf(lateEvent).target, keptOnServer.id);
      await restored.sync();
      await original.sync();
      assert.equal(await restored.verify(), true);
      assert.equal(await original.verify(), true);
      assert.deepEqual(await syncedIds(original), await syncedIds(restored));
      assert.deepEqual((await server.serverLog(token)).ids, await syncedIds(original));
      await original.close();
      await restored.close();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a redaction lost in a restore is pushed again: the text the backup still holds is erased again", { timeout: 90_000 }, async () => {
  await withServer(async (server) => {
    const phoneToken = await server.createUser("alice", "phone");
    const tabletToken = await server.createToken("alice", "tablet");
    const phone = await openDevice(server.url, phoneToken.token);
    const tablet = await openDevice(server.url, tabletToken.token);
    const secret = await phone.capture("Jane Example from ACME signed the renewal", { tags: ["acme"] });
    const plain = await phone.capture("The renewal went through");
    await phone.sync();
    const backup = await server.backup();
    const redaction = await phone.redact(secret, { reason: "named a customer" });
    await phone.sync();
    await tablet.sync();
    assert.ok(!JSON.stringify((await server.serverLog(phoneToken)).events).includes("Jane Example"));

    await server.restoreFromBackup(backup); // the backup holds the text, and no redaction
    assert.ok(JSON.stringify((await server.serverLog(phoneToken)).events).includes("Jane Example"));

    await phone.sync();
    assert.equal(await phone.pending(), 0);
    assert.deepEqual(await phone.rejected(), []);
    const log = await server.serverLog(phoneToken);
    assert.deepEqual(log.ids, [secret, plain, redaction].sort());
    assert.ok(!JSON.stringify(log.events).includes("Jane Example"), "the restored text was not erased again");
    assert.deepEqual(dataOf((await phone.events()).find((event) => event.id === secret)!), {
      text: "[redacted]",
      source: "text",
      tags: [],
    });
    assert.equal(await phone.verify(), true);

    await tablet.sync();
    assert.deepEqual(await tablet.rejected(), []);
    assert.equal(await tablet.verify(), true);
    assert.deepEqual(await syncedIds(tablet), log.ids);
    assert.ok(!JSON.stringify(await tablet.events()).includes("Jane Example"));
    await phone.close();
    await tablet.close();
  });
});
