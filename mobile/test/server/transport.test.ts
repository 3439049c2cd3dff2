/**
 * Whole-request refusals and transient failures (docs/protocol.md 2, 7 and 10.4) against a real
 * server: a revoked token stops the sync and keeps every event pending until a new token syncs them;
 * bodies over the server's limit are split (413) and one event that cannot fit alone is set aside
 * without blocking the rest; a `503` with `Retry-After` is waited out, and a sync that gives up keeps
 * the outbox for the next one.
 *
 * The 413s need a server whose limit is lower than the one the client read from `/v1/info` (an
 * operator lowered `WINLEDGER_MAX_BODY_BYTES` after the client's last look): the server runs with the
 * low limit, and the proxy hands the client the `/v1/info` of before (the default limits). The 503s
 * come from the proxy, as a load balancer in front of the server sheds load; the 429s from the server
 * itself, run with a rate limit of one request a second.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SyncError } from "../../src/index.js";
import { openDevice, syncedIds } from "../support/clients.js";
import { FaultProxy, jsonAnswer, type Answer } from "../support/proxy.js";
import { sleep, withServer } from "../support/server.js";

test("a revoked token: SyncError unauthorized, events stay pending, a new token syncs them", { timeout: 60_000 }, async () => {
  await withServer(async (server) => {
    const first = await server.createUser("alice", "phone");
    const phone = await openDevice(server.url, first.token);
    await phone.capture("synced with the first token");
    await phone.sync();
    const waiting = [await phone.capture("waits for a new token 1"), await phone.capture("waits for a new token 2")];

    await server.revokeToken(first);
    await assert.rejects(phone.sync(), (error: unknown) => {
      assert.ok(error instanceof SyncError, `expected a SyncError, got ${String(error)}`);
      assert.equal(error.code, "unauthorized");
      assert.equal(error.status, 401);
      assert.equal(error.reason, "revoked");
      return true;
    });
    assert.equal(await phone.pending(), 2);
    assert.deepEqual(await phone.rejected(), []);
    assert.equal((await server.serverLog(await server.createToken("alice", "admin check"))).count, 1);

    const second = await server.createToken("alice", "phone again");
    await phone.setToken(second.token);
    const report = await phone.sync();
    assert.equal(report.accepted, 2);
    assert.equal(await phone.pending(), 0);
    assert.equal(await phone.verify(), true);
    const log = await server.serverLog(second);
    assert.equal(log.count, 3);
    assert.ok(waiting.every((id) => log.ids.includes(id)));
    await phone.close();
  });
});

test("413 body_too_large: batches are split, an event too large alone is set aside, the rest syncs", { timeout: 60_000 }, async () => {
  const serverLimit = 2500;
  await withServer(
    async (server) => {
      const token = await server.createUser("alice");
      const proxy = await new FaultProxy(() => server.url).start();
      // The client sees the /v1/info of before the operator lowered the limit.
      proxy.rule = (request) =>
        request.path.startsWith("/v1/info")
          ? {
              rewrite: (answer: Answer): Answer => {
                const info = JSON.parse(answer.body.toString()) as { limits: Record<string, number> };
                assert.equal(info.limits.max_body_bytes, serverLimit);
                info.limits.max_body_bytes = 4194304;
                return { ...answer, body: Buffer.from(JSON.stringify(info)) };
              },
            }
          : "forward";
      try {
        const phone = await openDevice(proxy.url, token.token);
        const small: string[] = [];
        for (let i = 0; i < 16; i++) small.push(await phone.capture(`win number ${i}: ${"detail ".repeat(20)}`));
        const huge = await phone.capture("x".repeat(4000));
        small.push(await phone.capture("captured after the large one"));

        await phone.sync();
        const tooLarge = proxy.log.filter((entry) => entry.status === 413);
        assert.ok(tooLarge.length >= 1, "the server never answered 413: the split was not exercised");
        assert.equal(await phone.pending(), 0);
        const rejected = await phone.rejected();
        assert.deepEqual(rejected.map((event) => event.id), [huge]);
        assert.ok(rejected[0]!.message.length > 0, "the set-aside event says why");
        const log = await server.serverLog(token);
        assert.deepEqual(log.ids, [...small].sort());
        assert.deepEqual(await syncedIds(phone), [...small].sort());
        assert.equal(await phone.verify(), true);
        await phone.close();
      } finally {
        await proxy.stop();
      }
    },
    { env: { WINLEDGER_MAX_BODY_BYTES: String(serverLimit) } },
  );
});

test("the server's max_batch from /v1/info bounds every push", { timeout: 60_000 }, async () => {
  await withServer(
    async (server) => {
      const token = await server.createUser("alice");
      const proxy = await new FaultProxy(() => server.url).start();
      try {
        const phone = await openDevice(proxy.url, token.token);
        const ids: string[] = [];
        for (let i = 0; i < 10; i++) ids.push(await phone.capture(`win ${i}`));
        await phone.sync();
        assert.ok(!proxy.log.some((entry) => entry.status === 413), "a push went over max_batch");
        const pushes = proxy.log.filter((entry) => entry.method === "POST");
        assert.ok(pushes.length >= 4, `10 events in batches of 3 take 4 pushes, saw ${pushes.length}`);
        assert.deepEqual((await server.serverLog(token)).ids, ids.sort());
        assert.equal(await phone.verify(), true);
        await phone.close();
      } finally {
        await proxy.stop();
      }
    },
    { env: { WINLEDGER_MAX_BATCH: "3" } },
  );
});

test("503 with Retry-After is waited out; a sync that gives up keeps the outbox for the next", { timeout: 60_000 }, async () => {
  await withServer(async (server) => {
    const token = await server.createUser("alice");
    const proxy = await new FaultProxy(() => server.url).start();
    try {
      const phone = await openDevice(proxy.url, token.token, { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 } });
      const ids = [await phone.capture("win during the overload 1"), await phone.capture("win during the overload 2")];
      const busy = jsonAnswer(
        503,
        { type: "about:blank", title: "Service Unavailable", status: 503, code: "overloaded", detail: "busy" },
        { "retry-after": "1" },
      );

      // The first two requests are shed; the client waits at least Retry-After (1 s) before each retry.
      proxy.rule = (request) => (request.index < 2 ? { respond: busy } : "forward");
      await phone.sync();
      assert.deepEqual((await server.serverLog(token)).ids, [...ids].sort());
      assert.equal(await phone.pending(), 0);
      const [shed1, shed2, third] = proxy.log;
      assert.ok(shed1 && shed2 && third);
      assert.ok(shed2.at - shed1.at >= 950, `retried after ${shed2.at - shed1.at} ms, Retry-After said 1 s`);
      assert.ok(third.at - shed2.at >= 950, `retried after ${third.at - shed2.at} ms, Retry-After said 1 s`);

      // Always shed: the sync gives up with a SyncError and keeps the new event pending.
      const later = await phone.capture("win while the server stays overloaded");
      proxy.rule = () => ({ respond: { ...busy, headers: { "content-type": "application/json" } } });
      await assert.rejects(phone.sync(), (error: unknown) => error instanceof SyncError && error.status === 503);
      assert.equal(await phone.pending(), 1);
      assert.deepEqual(await phone.rejected(), []);

      proxy.rule = () => "forward";
      await phone.sync();
      assert.equal(await phone.pending(), 0);
      assert.ok((await server.serverLog(token)).ids.includes(later));
      assert.equal(await phone.verify(), true);
      await phone.close();
    } finally {
      await proxy.stop();
    }
  });
});

test("an expired token: SyncError unauthorized (expired), events stay pending, a new token syncs them", { timeout: 60_000 }, async () => {
  await withServer(async (server) => {
    await server.createUser("alice", "setup");
    // A token that stops working a few seconds from now (a time with its offset, as an operator gives it).
    const expiry = new Date(Date.now() + 4000).toISOString().replace(/\.\d{3}Z$/, "+00:00");
    const shortLived = await server.createToken("alice", "phone", ["--expires", expiry]);
    const phone = await openDevice(server.url, shortLived.token);
    await phone.capture("synced before the token expired");
    await phone.sync();
    const waiting = await phone.capture("waits for a new token");
    while (Date.now() < Date.parse(expiry) + 1200) await sleep(200);

    await assert.rejects(phone.sync(), (error: unknown) => {
      assert.ok(error instanceof SyncError, `expected a SyncError, got ${String(error)}`);
      assert.equal(error.code, "unauthorized");
      assert.equal(error.status, 401);
      assert.equal(error.reason, "expired");
      return true;
    });
    assert.equal(await phone.pending(), 1);
    assert.deepEqual(await phone.rejected(), []);

    const fresh = await server.createToken("alice", "phone again");
    await phone.setToken(fresh.token);
    await phone.sync();
    assert.equal(await phone.pending(), 0);
    assert.ok((await server.serverLog(fresh)).ids.includes(waiting));
    assert.equal(await phone.verify(), true);
    await phone.close();
  });
});

test("the server's own 429 rate_limited with Retry-After is waited out", { timeout: 60_000 }, async () => {
  await withServer(
    async (server) => {
      const token = await server.createUser("alice");
      const proxy = await new FaultProxy(() => server.url).start();
      try {
        const phone = await openDevice(proxy.url, token.token, { retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 50 } });
        const ids = [await phone.capture("one"), await phone.capture("two")];
        await phone.sync();
        const limited = proxy.log.findIndex((entry) => entry.status === 429);
        assert.ok(limited >= 0, `the server never answered 429: ${JSON.stringify(proxy.log.map((e) => [e.path, e.status]))}`);
        const retried = proxy.log[limited + 1];
        assert.ok(retried, "the client did not retry after the 429");
        assert.ok(retried.at - proxy.log[limited]!.at >= 950, `retried ${retried.at - proxy.log[limited]!.at} ms after a 429 whose Retry-After is at least 1 s`);
        assert.equal(await phone.pending(), 0);
        assert.deepEqual((await server.serverLog(token)).ids, [...ids].sort());
        await phone.close();
      } finally {
        await proxy.stop();
      }
    },
    { env: { WINLEDGER_RATE_LIMIT_PER_S: "1", WINLEDGER_RATE_LIMIT_BURST: "1" } },
  );
});

test("a token of another account is refused for a journal that has synced: nothing moves", { timeout: 60_000 }, async () => {
  await withServer(async (server) => {
    const alice = await server.createUser("alice");
    const bob = await server.createUser("bob");
    const phone = await openDevice(server.url, alice.token);
    await phone.capture("alice's first win");
    await phone.sync();
    const waiting = await phone.capture("alice's second win");

    // Refused where the SDK first sees the other account: by setToken (which checks a token when the
    // server answers, as `winledger login` does), or else by the sync.
    const mismatch = (error: unknown): boolean => error instanceof SyncError && error.code === "account_mismatch";
    let refusedAtSetToken = false;
    try {
      await phone.setToken(bob.token);
    } catch (error) {
      assert.ok(mismatch(error), `setToken failed with ${String(error)}`);
      refusedAtSetToken = true;
    }
    if (!refusedAtSetToken) await assert.rejects(phone.sync(), mismatch);
    assert.equal((await server.serverLog(bob)).count, 0);
    assert.equal(await phone.pending(), 1);
    assert.equal((await phone.events()).length, 2);

    await phone.setToken(alice.token);
    await phone.sync();
    assert.ok((await server.serverLog(alice)).ids.includes(waiting));
    assert.equal(await phone.verify(), true);
    await phone.close();
  });
});
