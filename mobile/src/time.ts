/** Timestamps (section 5.2): RFC 3339 in, `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC out. */

const SHAPE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})?$/;
const LOWER = 0; // 1970-01-01T00:00:00Z
const UPPER = 4102444800; // 2100-01-01T00:00:00Z, in seconds

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [era * 400 + yoe + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Formats Unix seconds and microseconds as the normalized UTC form. */
export function formatUtc(seconds: number, micros: number): string {
  const days = Math.floor(seconds / 86400);
  const rest = seconds - days * 86400;
  const [y, m, d] = civilFromDays(days);
  return `${pad(y, 4)}-${pad(m)}-${pad(d)}T${pad(Math.floor(rest / 3600))}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}.${pad(micros, 6)}Z`;
}

/** The normalized form of an `occurred_at`, or a sentence saying why it is refused (the server's words). */
export function normalizeTimestamp(text: string): { value: string } | { error: string } {
  if (text.length > 64) return { error: `'${text.slice(0, 20)}...' is longer than 64 characters` };
  const m = SHAPE.exec(text);
  if (!m) return { error: `'${text}' is not an RFC 3339 date-time such as '2026-03-14T09:26:53Z'` };
  const zone = m[8];
  if (zone === undefined) return { error: `'${text}' has no timezone; add 'Z' or an offset such as '+02:00'` };
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  let second = Number(m[6]);
  let micros = m[7] === undefined ? 0 : Number(m[7].slice(0, 6).padEnd(6, "0"));
  let offset = 0;
  if (zone !== "Z" && zone !== "z") {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return { error: `'${text}' has an invalid timezone offset` };
    offset = (zone[0] === "-" ? -1 : 1) * (oh * 3600 + om * 60);
  }
  if (month < 1 || month > 12) return { error: `'${text}' is not a valid date-time: month must be in 1..12` };
  if (day < 1 || day > daysInMonth(year, month)) return { error: `'${text}' is not a valid date-time: day is out of range for month` };
  if (hour > 23) return { error: `'${text}' is not a valid date-time: hour must be in 0..23` };
  if (minute > 59) return { error: `'${text}' is not a valid date-time: minute must be in 0..59` };
  if (second > 60) return { error: `'${text}' is not a valid date-time: second must be in 0..59` };
  if (second === 60) {
    // A leap second moves to the last microsecond of its minute.
    second = 59;
    micros = 999999;
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (seconds < LOWER || seconds >= UPPER) return { error: `'${text}' is outside 1970-01-01 to 2100-01-01` };
  return { value: formatUtc(seconds, micros) };
}

/** The normalized form of a time given in Unix milliseconds. */
export function timestampOfMs(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return formatUtc(seconds, (ms - seconds * 1000) * 1000);
}
