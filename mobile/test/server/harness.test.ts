/**
 * The harness the other server tests stand on, checked against the real server with plain fetch (no
 * SDK): a served store answers, tokens made and revoked by the admin commands work as the server says,
 * a backup restored gives a new epoch, and each fault of the proxy does to a push what it names.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { FaultProxy, jsonAnswer } from "../support/proxy.js";
import { PythonDevice } from "../support/python-device.js";
import { withServer } from "../support/server.js";

let deviceSeq = 0;
const deviceId = randomUUID();

/** A valid win.captured of one device (ids: UUIDv7 from the time and random bits). */
function aWin(text: string): Record<string, unknown> {
  deviceSeq += 1;
  const ms = Date.now();
  const hex = ms.toString(16).padStart(12, "0");
  const random = randomUUID().replace(/-/g, "");
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${random.slice(0, 3)}-8${random.slice(4, 7)}-${random.slice(8, 20)}`;
  return {
    id,
    device_id: deviceId,
    device_seq: deviceSeq,
    clock: ms * 1024 + deviceSeq,
    occurred_at: new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z"),
    type: "win.captured",
    v: 1,
    project_id: null,
    data: { text, source: "text" },
  };
}

async function push(url: string, token: string, events: unknown[]): Promise<Response> {
  return fetch(`${url}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
    signal: AbortSignal.timeout(20_000),
  });
}

test("a served store takes pushes; admin tokens work until revoked; a restored backup has a new epoch", { timeout: 60_000 }, async () => {
  await withServer(async (server) => {
    const alice = await server.createUser("alice");
    const second = await server.createToken("alice", "tablet");
    const pushed = await push(server.url, alice.token, [aWin("one")]);
    assert.equal(pushed.status, 200);
    const before = await server.serverLog(second);
    assert.equal(before.count, 1);
    assert.match(before.digest, /^[0-9a-f]{32}$/);

    await server.revokeToken(alice);
    assert.equal((await push(server.url, alice.token, [aWin("refused")])).status, 401);
    assert.equal((await server.serverLog(second)).count, 1);

    const backup = await server.backup();
    assert.equal((await push(server.url, second.token, [aWin("after the backup")])).status, 200);
    await server.restoreFromBackup(backup);
    const after = await server.serverLog(second);
    assert.notEqual(after.epoch, before.epoch);
    assert.deepEqual(after.ids, before.ids);
  });
});

test("the proxy loses requests and answers, delivers twice and answers in the server's place", { timeout: 60_000 }, async () => {
  await withServer(async (server) => {
    const alice = await server.createUser("alice");
    const proxy = await new FaultProxy(() => server.url).start();
    try {
      const lostRequest = aWin("lost request");
      proxy.rule = () => "drop_request";
      await assert.rejects(push(proxy.url, alice.token, [lostRequest]));
      assert.equal((await server.serverLog(alice)).count, 0);

      const lostAnswer = aWin("lost answer");
      proxy.rule = () => "drop_response";
      await assert.rejects(push(proxy.url, alice.token, [lostAnswer]));
      assert.deepEqual((await server.serverLog(alice)).ids, [lostAnswer.id]);

      const twice = aWin("twice");
      proxy.rule = () => "duplicate";
      const answer = (await (await push(proxy.url, alice.token, [twice])).json()) as { results: Array<{ status: string }> };
      assert.equal(answer.results[0]?.status, "duplicate");
      assert.equal((await server.serverLog(alice)).count, 2);

      proxy.rule = () => ({ respond: jsonAnswer(503, { code: "overloaded" }, { "retry-after": "1" }) });
      const busy = await push(proxy.url, alice.token, [aWin("busy")]);
      assert.equal(busy.status, 503);
      assert.equal(busy.headers.get("retry-after"), "1");
      assert.equal((await server.serverLog(alice)).count, 2);

      proxy.rule = () => ({ delayMs: 300 });
      const started = Date.now();
      assert.equal((await push(proxy.url, alice.token, [aWin("late")])).status, 200);
      assert.ok(Date.now() - started >= 290);
      assert.deepEqual(
        proxy.log.map((entry) => entry.fault),
        ["drop_request", "drop_response", "duplicate", "respond", "delayMs"],
      );
    } finally {
      await proxy.stop();
    }
  });
});

test("a Python device signs in, captures offline, syncs, and its journal's digest is the server's", { timeout: 60_000 }, async () => {
  await withServer(async (server) => {
    const token = await server.createUser("alice", "laptop");
    const laptop = new PythonDevice(server.dir, "laptop");
    const offline = await laptop.win("captured before signing in");
    await laptop.login(server.url, token.token);
    const online = await laptop.win("captured after");
    let journal = await laptop.journal();
    assert.deepEqual(journal.pending, [offline, online].sort());
    await laptop.sync();
    journal = await laptop.journal();
    const log = await server.serverLog(token);
    assert.deepEqual(journal.synced, [offline, online].sort());
    assert.deepEqual(log.ids, journal.synced);
    assert.equal(journal.digest, log.digest);
    assert.deepEqual(journal.texts, ["captured after", "captured before signing in"]);
  });
});
