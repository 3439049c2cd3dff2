/** The redacted form of an event (section 4, `event.redacted`). */
import { isKnown } from "./validate.js";
import type { EventFields } from "./types.js";

export const REDACTED = "[redacted]";

/** The free-text fields of each type (both versions of metric.observed alike). */
export const FREE_TEXT: Record<string, readonly string[]> = {
  "project.started": ["name", "summary", "team"],
  "project.updated": ["name", "summary", "team"],
  "win.captured": ["text", "tags"],
  "milestone.reached": ["note"],
  "metric.observed": ["label", "note"],
  "metric.linked": ["note"],
  "feedback.received": ["quote", "source_name", "source_team", "decision"],
  "learning.noted": ["text"],
  "event.retracted": ["reason"],
  "event.redacted": ["reason"],
};

/**
 * The event with each free-text field present replaced by `[redacted]` (`tags` by `[]`); null for
 * a type or version this client does not know, which is left as it is.
 */
export function redactedForm(event: EventFields): EventFields | null {
  const fields = FREE_TEXT[event.type];
  if (!fields || !isKnown(event.type, event.v)) return null;
  const data: Record<string, unknown> = { ...event.data };
  for (const f of fields) {
    if (!(f in data) || data[f] === null) continue;
    data[f] = f === "tags" ? [] : REDACTED;
  }
  return { ...event, data };
}
