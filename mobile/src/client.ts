import { SyncError, ValidationError } from "./errors.js";
import { Transport } from "./http.js";
import { nextClock, UuidMinter } from "./ids.js";
import { canonicalJson, digestOfHashes, hashOfCanonical } from "./jcs.js";
import { Mutex } from "./mutex.js";
import { redactedForm } from "./redaction.js";
import { timestampOfMs } from "./time.js";
import type { EventFields, EventRow, EventState, ReadModel, RejectedEvent, Storage, StorageTx, StoredEvent } from "./types.js";
import { TARGETING, validateEvent } from "./validate.js";

export interface RetryOptions {
  /** Tries per request, the first included (default 5). */
  attempts?: number;
  /** First wait between tries, doubled each time (default 500 ms). */
  baseDelayMs?: number;
  /** Longest wait between tries (default 60 s). */
  maxDelayMs?: number;
}

export interface ClientOptions {
  storage: Storage;
  /** The server's base URL, e.g. `https://wins.example.com` (no `/v1`). */
  server: string;
  token?: string;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** The wall clock in Unix milliseconds (default `Date.now`). */
  now?: () => number;
  retry?: RetryOptions;
}

export interface SyncReport {
  /** Events sent. */
  pushed: number;
  /** Of those, stored now by the server. */
  accepted: number;
  /** Of those, already held by the server (a retried push). */
  duplicates: number;
  /** Refused for good (kept in `rejected()`). */
  rejected: number;
  /** New events from the server stored here. */
  pulled: number;
  /** Kept pending because the server is older than this client (`unknown_type`, `unsupported_version`). */
  deferred: number;
  /** Pending events given new ids after a `device_seq_conflict` (10.6). */
  reminted: number;
  /** Whether the recovery procedure of section 9.4 ran (epoch change, `cursor_ahead`, digest mismatch). */
  recovered: boolean;
}

interface Limits {
  max_batch: number;
  max_body_bytes: number;
  max_page: number;
}

interface Account {
  server: string;
  user: string;
  user_id: number;
}

interface Page {
  results: Array<{ id: string | null; status: string; seq: number | null; code: string | null; message: string | null }>;
  events: Array<Record<string, unknown>>;
  cursor: number;
  more: boolean;
  count?: number;
  digest?: string;
  epoch?: string;
}

const DEFERRED = new Set(["unknown_type", "unsupported_version"]);
const REQUEST_OVERHEAD = 64; // '{"events":[', '],"after":N,"limit":M}' with room for 2**53-sized numbers
const encoder = new TextEncoder();

function newTally(): SyncReport {
  return { pushed: 0, accepted: 0, duplicates: 0, rejected: 0, pulled: 0, deferred: 0, reminted: 0, recovered: false };
}

function num(value: string | null, fallback = 0): number {
  return value === null ? fallback : Number(value);
}

function toPublic(row: EventRow): StoredEvent {
  const fields = JSON.parse(row.body) as EventFields;
  return { ...fields, state: row.state, seq: row.seq, h: row.h, code: row.code, message: row.message };
}

function targetOf(fields: EventFields): string | null {
  const target = fields.data?.target;
  return TARGETING.has(fields.type) && typeof target === "string" ? target : null;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * A winledger journal on this device: append events offline, sync them with the server, verify
 * that both hold the same set, and read the server's read models (kept for offline display).
 */
export class Client {
  private readonly minter: UuidMinter;
  private readonly syncLock = new Mutex();
  private readonly http: Transport;

  private constructor(
    private readonly storage: Storage,
    private readonly server: string,
    private readonly now: () => number,
    http: Transport,
  ) {
    this.minter = new UuidMinter(now);
    this.http = http;
  }

  /** Opens (and on first use creates) the journal in `storage`. Never touches the network. */
  static async open(opts: ClientOptions): Promise<Client> {
    const server = opts.server.trim().replace(/\/+$/, "");
    if (!/^https?:\/\//.test(server)) throw new ValidationError("server", `server must be an http:// or https:// URL, not ${JSON.stringify(opts.server)}`);
    const fetchImpl = opts.fetch ?? globalThis.fetch?.bind(globalThis);
    if (!fetchImpl) throw new Error("No fetch: pass `fetch` to Client.open");
    const now = opts.now ?? Date.now;
    const retry = { attempts: opts.retry?.attempts ?? 5, baseDelayMs: opts.retry?.baseDelayMs ?? 500, maxDelayMs: opts.retry?.maxDelayMs ?? 60_000 };
    const client = new Client(opts.storage, server, now, new Transport(server, opts.token, fetchImpl, retry));
    await opts.storage.transaction(async (tx) => {
      if ((await tx.getMeta("device_id")) === null) {
        await tx.setMeta("device_id", client.minter.mint());
        await tx.setMeta("device_seq", "0");
        await tx.setMeta("clock", "0");
        await tx.setMeta("cursor", "0");
      }
    });
    return client;
  }

  /**
   * Uses `token` from now on. When the journal already belongs to an account (6.6) and the server
   * can be reached, a token of another account is refused (`SyncError` `account_mismatch`) and
   * the old token stays, as it does when the server refuses the new token (`unauthorized`); when the
   * server cannot be reached, the token is kept and the next sync checks it. A journal that never
   * synced takes any token without asking the server.
   */
  async setToken(token: string): Promise<void> {
    const stored = await this.storage.transaction((tx) => tx.getMeta("account"));
    if (stored !== null) {
      let me: Record<string, unknown> | undefined;
      try {
        me = await this.http.request("GET", "/v1/me", undefined, token);
      } catch (error) {
        if (!(error instanceof SyncError) || error.code !== "network") throw error;
      }
      if (me !== undefined) {
        const account = JSON.parse(stored) as Account;
        const epoch = await this.storage.transaction((tx) => tx.getMeta("epoch"));
        const problem = this.accountProblem(account, { server: this.server, user: String(me.user), user_id: Number(me.user_id) }, epoch, String(me.epoch));
        if (problem) throw new SyncError("account_mismatch", problem);
      }
    }
    this.http.token = token;
  }

  // ---- appending -------------------------------------------------------------------------

  /** Starts a project; returns the new project's id. */
  async startProject(p: { name: string; kind: string; summary?: string; team?: string }): Promise<string> {
    const projectId = this.minter.mint();
    await this.append("project.started", 1, projectId, { name: p.name, kind: p.kind, summary: p.summary, team: p.team });
    return projectId;
  }

  /** Captures a win (`source` `text` unless said otherwise); returns the event's id. */
  capture(text: string, o: { project?: string; source?: string; tags?: string[]; occurredAt?: string } = {}): Promise<string> {
    return this.append("win.captured", 1, o.project ?? null, { text, source: o.source ?? "text", tags: o.tags }, o.occurredAt);
  }

  milestone(projectId: string, milestone: string, o: { note?: string; occurredAt?: string } = {}): Promise<string> {
    return this.append("milestone.reached", 1, projectId, { milestone, note: o.note }, o.occurredAt);
  }

  /** Records a measurement (`metric.observed` version 2). */
  metric(
    projectId: string,
    m: { key: string; layer: string; value: number; unit?: string; baseline?: number; low?: number; high?: number; direction?: string; label?: string; note?: string; measure?: string; occurredAt?: string },
  ): Promise<string> {
    const { occurredAt, ...data } = m;
    return this.append("metric.observed", 2, projectId, { ...data }, occurredAt);
  }

  linkMetrics(projectId: string, l: { cause: string; effect: string; evidence: string; note?: string; occurredAt?: string }): Promise<string> {
    return this.append("metric.linked", 1, projectId, { cause: l.cause, effect: l.effect, evidence: l.evidence, note: l.note }, l.occurredAt);
  }

  feedback(projectId: string, f: { quote: string; sourceName?: string; sourceTeam?: string; decision?: string; occurredAt?: string }): Promise<string> {
    return this.append("feedback.received", 1, projectId, { quote: f.quote, source_name: f.sourceName, source_team: f.sourceTeam, decision: f.decision }, f.occurredAt);
  }

  learning(text: string, o: { kind: string; project?: string; occurredAt?: string }): Promise<string> {
    return this.append("learning.noted", 1, o?.project ?? null, { text, kind: o?.kind }, o?.occurredAt);
  }

  /** Retracts an event (read models hide it); an id re-minted since (10.6) is followed. */
  async retract(eventId: string, o: { reason?: string } = {}): Promise<string> {
    return this.append("event.retracted", 1, null, { target: eventId, reason: o.reason }, undefined, true);
  }

  /**
   * Redacts an event: its free text becomes `[redacted]` here at once (in the same transaction,
   * before it is ever pushed if it is still pending), and everywhere once the redaction syncs.
   */
  async redact(eventId: string, o: { reason?: string } = {}): Promise<string> {
    return this.append("event.redacted", 1, null, { target: eventId, reason: o.reason }, undefined, true);
  }

  private append(type: string, v: number, projectId: string | null, data: Record<string, unknown>, occurredAt?: string, targeting = false): Promise<string> {
    return this.storage.transaction(async (tx) => {
      if (targeting && typeof data.target === "string") data = { ...data, target: await this.resolve(tx, data.target) };
      const deviceId = await tx.getMeta("device_id");
      if (deviceId === null) throw new Error("This journal has no device id: open it with Client.open");
      const deviceSeq = num(await tx.getMeta("device_seq")) + 1;
      const now = this.now();
      const clock = nextClock(now, num(await tx.getMeta("clock")));
      const id = this.minter.mint();
      const fields = validateEvent({
        id,
        device_id: deviceId,
        device_seq: deviceSeq,
        clock,
        occurred_at: occurredAt ?? timestampOfMs(now),
        type,
        v,
        project_id: projectId,
        data,
      });
      await this.store(tx, fields, "pending", null);
      await tx.setMeta("device_seq", String(deviceSeq));
      await tx.setMeta("clock", String(clock));
      return id;
    });
  }

  /** The id an event has now: ids re-minted after a device_seq_conflict (10.6) are followed. */
  private async resolve(tx: StorageTx, id: string): Promise<string> {
    let current = id;
    for (let hops = 0; hops < 100; hops++) {
      const next = await tx.getAlias(current);
      if (next === null) return current;
      current = next;
    }
    return current;
  }

  /**
   * Stores an event in normalized form with its canonical text and `h`, applying redactions
   * (10.5): a redaction rewrites its target if held; an event a held redaction names is stored redacted.
   */
  private async store(tx: StorageTx, fields: EventFields, state: EventState, seq: number | null): Promise<EventRow> {
    let held = fields;
    if ((await tx.listEvents({ type: "event.redacted", target: fields.id })).length > 0) {
      held = redactedForm(fields) ?? fields;
    }
    const row = await this.rowOf(held, state, seq);
    await tx.putEvent(row);
    if (fields.type === "event.redacted" && row.target !== null && row.target !== fields.id) {
      const target = await tx.getEvent(row.target);
      if (target !== null) {
        const redacted = redactedForm(JSON.parse(target.body) as EventFields);
        if (redacted !== null) {
          const body = canonicalJson(redacted);
          if (body !== target.body) await tx.putEvent({ ...target, body, h: await hashOfCanonical(body) });
        }
      }
    }
    return row;
  }

  private async rowOf(fields: EventFields, state: EventState, seq: number | null): Promise<EventRow> {
    const body = canonicalJson(fields);
    return {
      id: fields.id,
      device_id: fields.device_id,
      device_seq: fields.device_seq,
      clock: fields.clock,
      type: fields.type,
      v: fields.v,
      project_id: fields.project_id ?? null,
      target: targetOf(fields),
      body,
      h: await hashOfCanonical(body),
      state,
      seq,
      code: null,
      message: null,
    };
  }

  // ---- reading the journal ---------------------------------------------------------------

  /** Every local event (pending, synced, unconfirmed), in canonical order; `project` keeps one project's. */
  async events(o: { project?: string } = {}): Promise<StoredEvent[]> {
    const rows = await this.storage.transaction((tx) => tx.listEvents(o.project === undefined ? {} : { projectId: o.project }));
    return rows.map(toPublic);
  }

  /** Events the server refused for good, with its code and message, oldest first. */
  rejected(): Promise<RejectedEvent[]> {
    return this.storage.transaction((tx) => tx.listRejected());
  }

  /** How many events the server has not accepted yet (the outbox, and any being re-checked after a restore). */
  async pending(): Promise<number> {
    return this.storage.transaction(async (tx) => (await tx.listEvents({ state: "pending" })).length + (await tx.listEvents({ state: "unconfirmed" })).length);
  }

  /** This journal's device id (it changes after a device_seq_conflict, 10.6). */
  async deviceId(): Promise<string> {
    return this.storage.transaction(async (tx) => (await tx.getMeta("device_id")) as string);
  }

  // ---- sync -------------------------------------------------------------------------------

  /** Pushes the outbox and pulls what the server has (section 10.3); never drops an event. */
  sync(): Promise<SyncReport> {
    return this.syncLock.run(() => this.runSync());
  }

  private async runSync(): Promise<SyncReport> {
    const tally = newTally();
    let limits = await this.start(tally);
    let batchLimit = Math.max(1, limits.max_batch);
    const deferred = new Set<string>();
    let verified = false;
    for (let round = 0; ; round++) {
      const batch = await this.nextBatch(deferred, batchLimit, limits.max_body_bytes);
      const after = await this.storage.transaction(async (tx) => num(await tx.getMeta("cursor")));
      const body = `{"events":[${batch.map((e) => e.body).join(",")}],"after":${after},"limit":${Math.max(1, limits.max_page)}}`;
      let page: Page;
      try {
        page = (await this.http.post("/v1/sync", body)) as unknown as Page;
      } catch (error) {
        if (!(error instanceof SyncError)) throw error;
        if (error.status === 413) {
          if (error.code === "batch_too_large" && batch.length > 1) {
            limits = await this.start(tally);
            batchLimit = Math.max(1, Math.min(limits.max_batch, Math.floor(batch.length / 2)));
            continue;
          }
          if (batch.length > 1) {
            batchLimit = Math.floor(batch.length / 2);
            continue;
          }
          if (batch.length === 1 && error.code === "body_too_large") {
            const only = batch[0] as EventRow;
            await this.storage.transaction(async (tx) => {
              if (await this.rejectLocal(tx, only.id, "body_too_large", `Event ${only.id} alone is larger than the server takes: ${error.message}`)) tally.rejected++;
            });
            continue;
          }
          throw error;
        }
        if (error.code === "cursor_ahead" && after > 0) {
          // The server's log is shorter than what we pulled (restored by hand): recover as from a new epoch.
          await this.storage.transaction(async (tx) => {
            await this.restartPull(tx);
            if (error.epoch) await this.observeEpoch(tx, error.epoch, tally);
          });
          tally.recovered = true;
          continue;
        }
        throw error;
      }
      this.checkPage(page, batch.length);
      const complete = await this.storage.transaction((tx) => this.applyPage(tx, page, batch, after, deferred, tally));
      let done = complete && (await this.nextBatch(deferred, 1, limits.max_body_bytes)).length === 0;
      if (done && !verified && !(await this.matchesServer())) {
        // The sets differ although the pull is complete: a store restored by hand, or a damaged copy (10.7).
        await this.storage.transaction((tx) => this.restartPull(tx));
        tally.recovered = verified = true;
        done = false;
      }
      if (done) return tally;
      if (page.more && page.events.length === 0 && page.cursor <= after && batch.length === 0) {
        throw new SyncError("protocol", `The server says more events follow seq ${after} but sends none`);
      }
      if (round > 1_000_000) throw new SyncError("protocol", "The sync does not converge");
    }
  }

  /** GET /v1/info, the account check (6.6) and the epoch check (9.3); returns the server's limits. */
  private async start(tally: SyncReport): Promise<Limits> {
    const info = await this.http.get("/v1/info");
    const account = info.account as { user?: unknown; user_id?: unknown } | undefined;
    if (!account || typeof account.user !== "string" || typeof account.user_id !== "number") {
      throw new SyncError("protocol", `The server at ${this.server} does not say whose this token is (no \`account\` in /v1/info): it is older than this client. Nothing was synced.`);
    }
    const epoch = String(info.epoch);
    const offered: Account = { server: this.server, user: account.user, user_id: account.user_id };
    await this.storage.transaction(async (tx) => {
      const stored = await tx.getMeta("account");
      if (stored !== null) {
        const problem = this.accountProblem(JSON.parse(stored) as Account, offered, await tx.getMeta("epoch"), epoch);
        if (problem) throw new SyncError("account_mismatch", problem);
      }
      await tx.setMeta("account", JSON.stringify(offered));
      await this.observeEpoch(tx, epoch, tally);
    });
    const limits = (info.limits ?? {}) as Partial<Limits>;
    return {
      max_batch: typeof limits.max_batch === "number" ? limits.max_batch : 1000,
      max_body_bytes: typeof limits.max_body_bytes === "number" ? limits.max_body_bytes : 4 * 1024 * 1024,
      max_page: typeof limits.max_page === "number" ? limits.max_page : 5000,
    };
  }

  /** Why the journal of `journal` must not sync with `offered` (section 6.6), or null when it may. */
  private accountProblem(journal: Account, offered: Account, journalEpoch: string | null, epoch: string): string | null {
    if (journal.user !== offered.user) {
      return `This journal belongs to ${journal.user} on ${journal.server}; the token is ${offered.user}'s: syncing would copy ${journal.user}'s events into ${offered.user}'s account. Nothing was changed.`;
    }
    if (journal.user_id !== offered.user_id && journalEpoch === epoch) {
      return `${journal.user}'s account (user id ${journal.user_id}) was erased and the name given to a new user (id ${offered.user_id}). Nothing was changed.`;
    }
    if (journal.server !== offered.server && journalEpoch !== epoch) {
      return `This journal belongs to ${journal.server}, not ${offered.server} (another store). Nothing was changed.`;
    }
    return null;
  }

  private async observeEpoch(tx: StorageTx, epoch: string | undefined, tally: SyncReport): Promise<void> {
    if (!epoch) return;
    const stored = await tx.getMeta("epoch");
    if (stored === epoch) return;
    if (stored !== null) {
      await this.restartPull(tx);
      tally.recovered = true;
    }
    await tx.setMeta("epoch", epoch);
  }

  /** Recovery, step 2 (9.4): everything synced becomes unconfirmed, the cursor goes back to 0. */
  private async restartPull(tx: StorageTx): Promise<void> {
    await tx.unconfirmAll();
    for (const key of ["server_count", "server_digest", "server_cursor"]) await tx.setMeta(key, null);
    await tx.setMeta("cursor", "0");
  }

  private checkPage(page: Page, sent: number): void {
    if (!page || !Array.isArray(page.results) || !Array.isArray(page.events) || typeof page.cursor !== "number" || typeof page.more !== "boolean") {
      throw new SyncError("protocol", "The server's answer to /v1/sync lacks results, events, cursor or more");
    }
    if (page.results.length !== sent) {
      throw new SyncError("protocol", `The server answered ${page.results.length} result(s) for a push of ${sent} event(s)`);
    }
  }

  /** The oldest pending events in canonical order that fit `limit` events and a body of `maxBytes`. */
  private async nextBatch(deferred: Set<string>, limit: number, maxBytes: number): Promise<EventRow[]> {
    const rows = await this.storage.transaction((tx) => tx.listEvents({ state: "pending" }));
    const batch: EventRow[] = [];
    let size = REQUEST_OVERHEAD;
    for (const row of rows) {
      if (deferred.has(row.id)) continue;
      const bytes = encoder.encode(row.body).length + 1;
      if (batch.length > 0 && size + bytes > maxBytes) break;
      batch.push(row);
      size += bytes;
      if (batch.length >= limit) break;
    }
    return batch;
  }

  /** Applies one answer to POST /v1/sync (10.3, 10.5) in the caller's transaction; whether the pull is complete. */
  private async applyPage(tx: StorageTx, page: Page, batch: EventRow[], after: number, deferred: Set<string>, tally: SyncReport): Promise<boolean> {
    await this.observeEpoch(tx, page.epoch, tally);
    const deviceId = await tx.getMeta("device_id");
    let conflict = false;
    for (let i = 0; i < batch.length; i++) {
      const sent = batch[i] as EventRow;
      const result = page.results[i] as Page["results"][number];
      if (result.id !== null && result.id !== undefined && result.id !== sent.id) {
        throw new SyncError("protocol", `The server answered for event ${result.id} where ${sent.id} was pushed`);
      }
      tally.pushed++;
      if (result.status === "accepted" || result.status === "duplicate") {
        if (typeof result.seq !== "number") throw new SyncError("protocol", `The server ${result.status} event ${sent.id} without a seq`);
        const held = await tx.getEvent(sent.id);
        if (held !== null) await tx.putEvent({ ...held, state: "synced", seq: result.seq, code: null, message: null });
        if (result.status === "accepted") tally.accepted++;
        else tally.duplicates++;
      } else if (result.status === "rejected") {
        const code = result.code ?? "rejected";
        const message = result.message ?? "(the server gave no reason)";
        if (DEFERRED.has(code)) {
          const held = await tx.getEvent(sent.id);
          if (held !== null && held.state === "pending") await tx.putEvent({ ...held, code, message });
          deferred.add(sent.id);
          tally.deferred++;
        } else if (code === "device_seq_conflict" && sent.device_id === deviceId) {
          conflict = true;
        } else if (await this.rejectLocal(tx, sent.id, code, message)) {
          tally.rejected++;
        }
      } else {
        throw new SyncError("protocol", `The server answered status ${JSON.stringify(result.status)} for event ${sent.id}`);
      }
    }
    if (conflict) tally.reminted += await this.remint(tx);
    await this.mergePulled(tx, page.events, tally);
    if (num(await tx.getMeta("cursor")) !== after) return false; // the epoch reset it: this page does not continue it
    if (page.cursor < after) throw new SyncError("protocol", `The server's pull cursor ${page.cursor} is behind after=${after}`);
    await tx.setMeta("cursor", String(page.cursor));
    if (page.more) return false;
    if (typeof page.count === "number" && typeof page.digest === "string") {
      await tx.setMeta("server_count", String(page.count));
      await tx.setMeta("server_digest", page.digest.toLowerCase());
      await tx.setMeta("server_cursor", String(page.cursor));
    }
    // A full pull since the reset confirmed everything the server still holds; the rest it lost (9.4 step 4).
    await tx.requeueUnconfirmed();
    return true;
  }

  /** Moves an event to the rejected list (a pending one only, unless `anyState`). */
  private async rejectLocal(tx: StorageTx, id: string, code: string, message: string, anyState = false): Promise<boolean> {
    const held = await tx.getEvent(id);
    if (held === null || (!anyState && held.state !== "pending")) return false;
    await tx.putRejected({
      id: held.id,
      device_id: held.device_id,
      device_seq: held.device_seq,
      clock: held.clock,
      type: held.type,
      v: held.v,
      project_id: held.project_id,
      body: held.body,
      code,
      message,
      rejected_at: timestampOfMs(this.now()),
    });
    await tx.deleteEvent(id);
    return true;
  }

  /** Stores pulled events (10.3): known ids become synced, new ones are stored verbatim, redactions applied. */
  private async mergePulled(tx: StorageTx, events: Array<Record<string, unknown>>, tally: SyncReport): Promise<void> {
    let largest = num(await tx.getMeta("clock"));
    for (const pulled of events) {
      const { seq, received_at: _received, ...rest } = pulled;
      const fields = rest as unknown as EventFields;
      if (typeof fields.id !== "string" || typeof seq !== "number" || typeof fields.clock !== "number") {
        throw new SyncError("protocol", `The server sent an event without a string id, a seq or a clock: ${JSON.stringify(pulled).slice(0, 200)}`);
      }
      const body = canonicalJson(fields);
      const h = await hashOfCanonical(body);
      const held = await tx.getEvent(fields.id);
      const relation = held !== null && held.h !== h ? this.redactionRelation(held, fields, body) : false;
      if (held !== null && (held.h === h || relation)) {
        const next: EventRow = { ...held, state: "synced", seq, code: null, message: null };
        if (relation === "theirs") Object.assign(next, { body, h });
        await tx.putEvent(next);
      } else {
        if (held !== null) {
          // The server holds other content under this id: it wins, and our copy is kept aside.
          await this.rejectLocal(tx, fields.id, "id_conflict", `The server holds a different event with id ${fields.id}`, true);
        }
        await this.store(tx, fields, "synced", seq);
        tally.pulled++;
      }
      largest = Math.max(largest, fields.clock);
    }
    await tx.setMeta("clock", String(largest));
  }

  /** Whether a held copy and a pulled one differ only by a redaction, and whose copy is redacted. */
  private redactionRelation(held: EventRow, pulled: EventFields, pulledBody: string): "theirs" | "ours" | false {
    const ours = redactedForm(JSON.parse(held.body) as EventFields);
    if (ours !== null && canonicalJson(ours) === pulledBody) return "theirs";
    const theirs = redactedForm(pulled);
    if (theirs !== null && canonicalJson(theirs) === held.body) return "ours";
    return false;
  }

  /**
   * Another store uses our device id (10.6): take a new one, and re-mint every pending event of
   * the old one with a new id and the next device_seq, in the old order (clocks kept, so the
   * canonical order does not change). Retractions and redactions are pointed at the new ids;
   * old ids resolve to new ones through the aliases. Returns how many events were minted.
   */
  private async remint(tx: StorageTx): Promise<number> {
    const oldDevice = (await tx.getMeta("device_id")) as string;
    const newDevice = this.minter.mint();
    const rows = (await tx.listEvents({ state: "pending", deviceId: oldDevice })).sort((a, b) => a.device_seq - b.device_seq);
    const newIds = new Map<string, string>();
    for (const row of rows) newIds.set(row.id, this.minter.mint());
    let deviceSeq = 0;
    for (const row of rows) {
      deviceSeq++;
      const fields = JSON.parse(row.body) as EventFields;
      const moved: EventFields = { ...fields, id: newIds.get(row.id) as string, device_id: newDevice, device_seq: deviceSeq };
      retarget(moved, newIds);
      await tx.deleteEvent(row.id);
      await this.store(tx, moved, "pending", null);
      await tx.putAlias(row.id, moved.id);
    }
    let clock = num(await tx.getMeta("clock"));
    // A retraction or redaction the server already holds that names a re-minted event: repeat it for the new id.
    for (const type of TARGETING) {
      for (const row of await tx.listEvents({ type })) {
        if (row.state === "pending" || row.target === null || !newIds.has(row.target)) continue;
        const fields = JSON.parse(row.body) as EventFields;
        deviceSeq++;
        clock = nextClock(this.now(), clock);
        const copy: EventFields = { ...fields, id: this.minter.mint(), device_id: newDevice, device_seq: deviceSeq, clock };
        retarget(copy, newIds);
        await this.store(tx, copy, "pending", null);
      }
    }
    await tx.setMeta("device_id", newDevice);
    await tx.setMeta("device_seq", String(deviceSeq));
    await tx.setMeta("clock", String(clock));
    return deviceSeq;
  }

  /** Whether the synced events up to the last complete pull have the server's count and digest (10.7). */
  private async matchesServer(): Promise<boolean> {
    return this.storage.transaction(async (tx) => {
      const upto = await tx.getMeta("server_cursor");
      const count = await tx.getMeta("server_count");
      const digest = await tx.getMeta("server_digest");
      if (upto === null || count === null || digest === null) return false;
      const synced = (await tx.listEvents({ state: "synced" })).filter((e) => (e.seq ?? 0) <= Number(upto));
      return synced.length === Number(count) && digestOfHashes(synced.map((e) => e.h)) === digest;
    });
  }

  /**
   * Pulls to the end (no push) and says whether this journal's synced events have the server's
   * count and digest (10.7). Recovers (9.4) when the epoch changed or the cursor is ahead.
   */
  verify(): Promise<boolean> {
    return this.syncLock.run(async () => {
      const tally = newTally();
      const limits = await this.start(tally);
      for (let round = 0; ; round++) {
        const after = await this.storage.transaction(async (tx) => num(await tx.getMeta("cursor")));
        let page: Page;
        try {
          page = (await this.http.post("/v1/sync", `{"events":[],"after":${after},"limit":${Math.max(1, limits.max_page)}}`)) as unknown as Page;
        } catch (error) {
          if (error instanceof SyncError && error.code === "cursor_ahead" && after > 0) {
            await this.storage.transaction(async (tx) => {
              await this.restartPull(tx);
              if (error.epoch) await this.observeEpoch(tx, error.epoch, tally);
            });
            continue;
          }
          throw error;
        }
        this.checkPage(page, 0);
        const complete = await this.storage.transaction((tx) => this.applyPage(tx, page, [], after, new Set(), tally));
        if (complete) return this.matchesServer();
        if (page.more && page.events.length === 0 && page.cursor <= after) {
          throw new SyncError("protocol", `The server says more events follow seq ${after} but sends none`);
        }
        if (round > 1_000_000) throw new SyncError("protocol", "The pull does not converge");
      }
    });
  }

  // ---- read models ------------------------------------------------------------------------

  /** The project's timeline from the server (waiting for our cursor, `min_seq`); offline, the last copy. */
  timeline(projectId: string, o: { asOf?: string } = {}): Promise<ReadModel<unknown>> {
    return this.readModel(`timeline:${projectId}:${o.asOf ?? ""}`, `/v1/projects/${encodeURIComponent(projectId)}/timeline`, { as_of: o.asOf });
  }

  /** The project's metric chains from the server; offline, the last copy. */
  metricChains(projectId: string, o: { asOf?: string } = {}): Promise<ReadModel<unknown>> {
    return this.readModel(`chains:${projectId}:${o.asOf ?? ""}`, `/v1/projects/${encodeURIComponent(projectId)}/metric-chains`, { as_of: o.asOf });
  }

  /** The user's projects from the server; offline, the last copy. */
  projects(): Promise<ReadModel<unknown>> {
    return this.readModel("projects", "/v1/projects", {});
  }

  /**
   * The review draft (JSON) of the period `from`..`to` (inclusive UTC dates; default: 1 January
   * of `to`'s year to today). `project` keeps that project's sections and checklist items only
   * (the route itself has no such parameter). Offline, the last copy.
   */
  async reviewDraft(o: { from?: string; to?: string; asOf?: string; project?: string } = {}): Promise<ReadModel<unknown>> {
    const to = o.to ?? isoDay(this.now());
    const from = o.from ?? `${to.slice(0, 4)}-01-01`;
    const model = await this.readModel(`review:${from}:${to}:${o.asOf ?? ""}`, "/v1/review-draft", { from, to, as_of: o.asOf, format: "json" });
    if (o.project === undefined) return model;
    const draft = { ...(model.data as Record<string, unknown>) };
    for (const key of ["sections", "checklist"]) {
      const list = draft[key];
      if (Array.isArray(list)) draft[key] = list.filter((item) => (item as { project_id?: unknown }).project_id === o.project);
    }
    return { ...model, data: draft };
  }

  private async readModel(key: string, path: string, params: Record<string, string | undefined>): Promise<ReadModel<unknown>> {
    const cursor = await this.storage.transaction(async (tx) => num(await tx.getMeta("cursor")));
    // Built by hand: React Native's URLSearchParams lacks `set` on older versions.
    const query = Object.entries({ ...params, min_seq: String(cursor) })
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join("&");
    try {
      const data = await this.http.get(`${path}?${query}`);
      const model: ReadModel<unknown> = {
        data,
        asOfSeq: typeof data.as_of_seq === "number" ? data.as_of_seq : null,
        fetchedAt: new Date(this.now()).toISOString(),
        fromCache: false,
      };
      await this.storage.transaction((tx) => tx.putReadModel(key, JSON.stringify(model)));
      return model;
    } catch (error) {
      if (error instanceof SyncError && error.code === "network") {
        const cached = await this.storage.transaction((tx) => tx.getReadModel(key));
        if (cached !== null) return { ...(JSON.parse(cached) as ReadModel<unknown>), fromCache: true };
      }
      throw error;
    }
  }

  /** Closes the storage. */
  async close(): Promise<void> {
    await this.syncLock.run(() => this.storage.close());
  }
}

function retarget(fields: EventFields, newIds: Map<string, string>): boolean {
  if (!TARGETING.has(fields.type) || typeof fields.data?.target !== "string") return false;
  const next = newIds.get(fields.data.target);
  if (next === undefined) return false;
  fields.data = { ...fields.data, target: next };
  return true;
}

