/**
 * The path every app takes: capture offline, sync, verify; a second device of the same user pulls the
 * same events and the same digest; read models fetched after a push reflect it (`min_seq`) and stay
 * readable, from the last copy, when the server cannot be reached.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, MemoryStorage, digestOfHashes } from "../../src/index.js";
import { join } from "node:path";
import { capturedTexts, dataOf, openDevice, sqliteStorage, syncedIds } from "../support/clients.js";
import { FaultProxy } from "../support/proxy.js";
import { withServer } from "../support/server.js";

/** The body of GET /v1/projects/{id}/timeline (docs/protocol-examples.md 3.2), as far as these tests read it. */
interface TimelineBody {
  timeline: { entries: Array<{ id: string }> };
}

test("captured offline, synced, verified; a second device pulls the same events and digest", { timeout: 60_000 }, async () => {
  await withServer(async (server) => {
    const phoneToken = await server.createUser("alice", "phone");
    const tabletToken = await server.createToken("alice", "tablet");
    const requests: string[] = [];
    const counting: typeof fetch = (input, init) => {
      requests.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    };
    const phone = await Client.open({
      storage: new MemoryStorage(),
      server: server.url,
      token: phoneToken.token,
      fetch: counting,
      retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
    });

    // Offline: appends never touch the network.
    const project = await phone.startProject({ name: "Churn early warning", kind: "model", team: "Retention" });
    const started = (await phone.events()).find((event) => event.type === "project.started")!;
    assert.equal(started.project_id, project);
    const ids = [
      started.id,
      await phone.capture("Customer success works the churn list every Monday", { project, tags: ["retention"] }),
      await phone.milestone(project, "deployed", { note: "behind a flag" }),
      await phone.metric(project, { key: "saved_rate", layer: "business", value: 34, unit: "%", baseline: 25 }),
      await phone.capture("Shipped the onboarding checklist"),
      await phone.learning("Ask for the baseline before the launch", { kind: "learned" }),
    ];
    assert.deepEqual(requests, []);
    assert.equal(await phone.pending(), ids.length);
    assert.equal(new Set(ids).size, ids.length);

    const report = await phone.sync();
    assert.deepEqual(
      { pushed: report.pushed, accepted: report.accepted, duplicates: report.duplicates, rejected: report.rejected },
      { pushed: ids.length, accepted: ids.length, duplicates: 0, rejected: 0 },
    );
    assert.equal(await phone.pending(), 0);
    assert.equal(await phone.verify(), true);
    const held = await phone.events();
    assert.deepEqual(held.map((event) => event.id).sort(), [...ids].sort());
    assert.ok(held.every((event) => event.state === "synced" && typeof event.seq === "number"));
    assert.deepEqual(
      (await phone.events({ project })).map((event) => event.id).sort(),
      ids.slice(0, 4).sort(),
    );

    const log = await server.serverLog(phoneToken);
    assert.deepEqual(log.ids, [...ids].sort());
    assert.equal(log.count, ids.length);
    assert.equal(digestOfHashes(held.map((event) => event.h)), log.digest);

    // A second device of the same user pulls the same set and the same digest.
    const tablet = await openDevice(server.url, tabletToken.token);
    const pulled = await tablet.sync();
    assert.equal(pulled.pulled, ids.length);
    assert.equal(pulled.pushed, 0);
    assert.equal(await tablet.verify(), true);
    assert.deepEqual(await syncedIds(tablet), [...ids].sort());
    assert.equal(digestOfHashes((await tablet.events()).map((event) => event.h)), log.digest);
    assert.deepEqual(await capturedTexts(tablet), await capturedTexts(phone));

    // The tablet's capture reaches the phone; both end with the server's set.
    const fromTablet = await tablet.capture("Cut the weekly report to one page");
    await tablet.sync();
    const back = await phone.sync();
    assert.equal(back.pulled, 1);
    assert.equal(await phone.verify(), true);
    assert.deepEqual(await syncedIds(phone), [...ids, fromTablet].sort());
    assert.deepEqual(await syncedIds(phone), await syncedIds(tablet));
    await phone.close();
    await tablet.close();
  });
});

test("read models are fetched with min_seq after a push and served from the last copy when the server is down", { timeout: 60_000 }, async () => {
  await withServer(async (server) => {
    const token = await server.createUser("alice");
    const proxy = await new FaultProxy(() => server.url).start();
    try {
      const phone = await openDevice(proxy.url, token.token);
      const project = await phone.startProject({ name: "Search ranking", kind: "model" });
      const started = (await phone.events()).find((event) => event.type === "project.started")!.id;
      const milestone = await phone.milestone(project, "deployed");
      const metric = await phone.metric(project, { key: "ndcg_at_10", layer: "model", value: 0.71, baseline: 0.65 });
      await phone.sync();
      const newest = Math.max(...(await phone.events({ project })).map((event) => event.seq ?? 0));

      const timeline = await phone.timeline(project);
      assert.equal(timeline.fromCache, false);
      // The server answered only once its projector had folded the push: every event is in it.
      assert.ok((timeline.asOfSeq ?? 0) >= newest, `as_of_seq ${timeline.asOfSeq} < ${newest}`);
      const entries = (timeline.data as TimelineBody).timeline.entries.map((entry) => entry.id);
      assert.deepEqual(entries.sort(), [started, milestone, metric].sort());
      const asked = proxy.requests(`/v1/projects/${project}/timeline`);
      assert.equal(asked.length, 1);
      const minSeq = Number(new URL(asked[0]!.path, proxy.url).searchParams.get("min_seq"));
      assert.ok(minSeq >= newest, `timeline asked with min_seq=${minSeq}, the push reached seq ${newest}`);

      const chains = await phone.metricChains(project);
      assert.equal(chains.fromCache, false);
      const keys = (chains.data as { metrics: Array<{ key: string }> }).metrics.map((m) => m.key);
      assert.deepEqual(keys, ["ndcg_at_10"]);
      assert.ok(proxy.requests(`/v1/projects/${project}/metric-chains`).every((r) => r.path.includes("min_seq=")));

      // The server goes away: the last copies are still shown, marked as such.
      await server.stop();
      const offline = await phone.timeline(project);
      assert.equal(offline.fromCache, true);
      assert.deepEqual(offline.data, timeline.data);
      assert.equal(offline.asOfSeq, timeline.asOfSeq);
      const offlineChains = await phone.metricChains(project);
      assert.equal(offlineChains.fromCache, true);
      assert.deepEqual(offlineChains.data, chains.data);
      // Appends still work, and are kept for the next sync.
      await phone.capture("noted while the server was down", { project });
      assert.equal(await phone.pending(), 1);
      await server.start({ samePort: true });
      await phone.sync();
      assert.equal(await phone.pending(), 0);
      const fresh = await phone.timeline(project);
      assert.equal(fresh.fromCache, false);
      assert.equal((fresh.data as TimelineBody).timeline.entries.length, 4);
      assert.ok(dataOf((await phone.events({ project })).find((e) => e.type === "win.captured")!).text);
      await phone.close();
    } finally {
      await proxy.stop();
    }
  }, { projector: "process" }); // as `winledger serve` runs by default: the folds happen in another process
});

test("a SqliteStorage journal keeps its outbox and its device id across a restart of the app", { timeout: 60_000 }, async () => {
  await withServer(async (server) => {
    const token = await server.createUser("alice");
    const path = join(server.dir, "phone.db");
    let phone = await openDevice(server.url, token.token, { storage: await sqliteStorage(path) });
    const device = await phone.deviceId();
    const first = await phone.capture("captured, then the app was closed");
    await phone.sync();
    const waiting = [await phone.capture("pending when the app closed 1"), await phone.capture("pending when the app closed 2")];
    await phone.close();

    phone = await openDevice(server.url, token.token, { storage: await sqliteStorage(path) });
    assert.equal(await phone.deviceId(), device);
    assert.equal(await phone.pending(), 2);
    const report = await phone.sync();
    assert.equal(report.accepted, 2);
    assert.equal(report.pulled, 0);
    assert.deepEqual((await server.serverLog(token)).ids, [first, ...waiting].sort());
    assert.equal(await phone.verify(), true);
    await phone.close();
  });
});
