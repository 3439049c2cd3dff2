import { compareCanonical } from "./canonical-order.js";
import { Mutex } from "./mutex.js";
import type { EventState, RejectedEvent, Storage, StorageTx, EventRow } from "./types.js";

interface State {
  meta: Map<string, string>;
  events: Map<string, EventRow>;
  rejected: RejectedEvent[];
  aliases: Map<string, string>;
  readModels: Map<string, string>;
}

function copy(state: State): State {
  return {
    meta: new Map(state.meta),
    events: new Map(state.events),
    rejected: [...state.rejected],
    aliases: new Map(state.aliases),
    readModels: new Map(state.readModels),
  };
}

/**
 * A journal held in memory, for tests and for apps that keep nothing between launches. Each
 * transaction works on a copy that replaces the state only when the callback resolves.
 */
export class MemoryStorage implements Storage {
  private state: State = { meta: new Map(), events: new Map(), rejected: [], aliases: new Map(), readModels: new Map() };
  private readonly mutex = new Mutex();
  private closed = false;

  transaction<T>(fn: (tx: StorageTx) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      if (this.closed) throw new Error("This MemoryStorage is closed");
      const work = copy(this.state);
      const result = await fn(new MemoryTx(work));
      this.state = work;
      return result;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

class MemoryTx implements StorageTx {
  constructor(private readonly s: State) {}

  async getMeta(key: string): Promise<string | null> {
    return this.s.meta.get(key) ?? null;
  }
  async setMeta(key: string, value: string | null): Promise<void> {
    if (value === null) this.s.meta.delete(key);
    else this.s.meta.set(key, value);
  }
  async getEvent(id: string): Promise<EventRow | null> {
    const e = this.s.events.get(id);
    return e ? { ...e } : null;
  }
  async putEvent(event: EventRow): Promise<void> {
    this.s.events.set(event.id, { ...event });
  }
  async deleteEvent(id: string): Promise<void> {
    this.s.events.delete(id);
  }
  async listEvents(filter: { state?: EventState; deviceId?: string; type?: string; target?: string; projectId?: string } = {}): Promise<EventRow[]> {
    const out: EventRow[] = [];
    for (const e of this.s.events.values()) {
      if (filter.state !== undefined && e.state !== filter.state) continue;
      if (filter.deviceId !== undefined && e.device_id !== filter.deviceId) continue;
      if (filter.type !== undefined && e.type !== filter.type) continue;
      if (filter.target !== undefined && e.target !== filter.target) continue;
      if (filter.projectId !== undefined && e.project_id !== filter.projectId) continue;
      out.push({ ...e });
    }
    return out.sort(compareCanonical);
  }
  async unconfirmAll(): Promise<number> {
    let n = 0;
    for (const [id, e] of this.s.events) {
      if (e.state === "synced") {
        this.s.events.set(id, { ...e, state: "unconfirmed", seq: null });
        n++;
      }
    }
    return n;
  }
  async requeueUnconfirmed(): Promise<number> {
    let n = 0;
    for (const [id, e] of this.s.events) {
      if (e.state === "unconfirmed") {
        this.s.events.set(id, { ...e, state: "pending" });
        n++;
      }
    }
    return n;
  }
  async putRejected(event: RejectedEvent): Promise<void> {
    this.s.rejected.push({ ...event });
  }
  async listRejected(): Promise<RejectedEvent[]> {
    return this.s.rejected.map((r) => ({ ...r }));
  }
  async getAlias(oldId: string): Promise<string | null> {
    return this.s.aliases.get(oldId) ?? null;
  }
  async putAlias(oldId: string, newId: string): Promise<void> {
    this.s.aliases.set(oldId, newId);
  }
  async getReadModel(key: string): Promise<string | null> {
    return this.s.readModels.get(key) ?? null;
  }
  async putReadModel(key: string, value: string): Promise<void> {
    this.s.readModels.set(key, value);
  }
}
