import type { ReadModel, RejectedEvent, Storage, StoredEvent } from "./types.js";

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface ClientOptions {
  storage: Storage;
  server: string;
  token?: string;
  fetch?: typeof fetch;
  now?: () => number;
  retry?: RetryOptions;
}

export interface SyncReport {
  pushed: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  pulled: number;
}

const TODO = (): never => {
  throw new Error("not implemented yet");
};

export class Client {
  private constructor() {}
  static async open(_opts: ClientOptions): Promise<Client> { return TODO(); }
  async setToken(_token: string): Promise<void> { TODO(); }
  async startProject(_p: { name: string; kind: string; summary?: string; team?: string }): Promise<string> { return TODO(); }
  async capture(_text: string, _o: { project?: string; source?: string; tags?: string[]; occurredAt?: string } = {}): Promise<string> { return TODO(); }
  async milestone(_projectId: string, _milestone: string, _o: { note?: string; occurredAt?: string } = {}): Promise<string> { return TODO(); }
  async metric(_projectId: string, _m: { key: string; layer: string; value: number; unit?: string; baseline?: number; low?: number; high?: number; direction?: string; label?: string; note?: string; occurredAt?: string }): Promise<string> { return TODO(); }
  async linkMetrics(_projectId: string, _l: { cause: string; effect: string; evidence: string; note?: string }): Promise<string> { return TODO(); }
  async feedback(_projectId: string, _f: { quote: string; sourceName?: string; sourceTeam?: string; decision?: string }): Promise<string> { return TODO(); }
  async learning(_text: string, _o: { kind: string; project?: string }): Promise<string> { return TODO(); }
  async retract(_eventId: string, _o: { reason?: string } = {}): Promise<string> { return TODO(); }
  async redact(_eventId: string, _o: { reason?: string } = {}): Promise<string> { return TODO(); }
  async sync(): Promise<SyncReport> { return TODO(); }
  async verify(): Promise<boolean> { return TODO(); }
  async events(_o: { project?: string } = {}): Promise<StoredEvent[]> { return TODO(); }
  async rejected(): Promise<RejectedEvent[]> { return TODO(); }
  async pending(): Promise<number> { return TODO(); }
  async deviceId(): Promise<string> { return TODO(); }
  async timeline(_projectId: string): Promise<ReadModel<unknown>> { return TODO(); }
  async metricChains(_projectId: string): Promise<ReadModel<unknown>> { return TODO(); }
  async reviewDraft(_o: { from?: string; to?: string; project?: string } = {}): Promise<ReadModel<unknown>> { return TODO(); }
  async close(): Promise<void> { TODO(); }
}
