import type { EventRow } from "./types.js";

/** Canonical order (section 3.3): clock as an integer, then device_id, then device_seq. */
export function compareCanonical(a: EventRow, b: EventRow): number {
  if (a.clock !== b.clock) return a.clock < b.clock ? -1 : 1;
  if (a.device_id !== b.device_id) return a.device_id < b.device_id ? -1 : 1;
  return a.device_seq - b.device_seq;
}
