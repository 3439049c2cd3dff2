/** UUIDv7 ids (RFC 9562 section 5.7) and the hybrid logical clock (section 3.3). */

const RAND_BITS = 74n;
const RAND_MAX = (1n << RAND_BITS) - 1n;
const SEED_BITS = 73; // a new millisecond seeds its counter in the lower half of the 74 random bits

function randomBits(bits: number): bigint {
  const bytes = new Uint8Array(Math.ceil(bits / 8));
  globalThis.crypto.getRandomValues(bytes);
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n & ((1n << BigInt(bits)) - 1n);
}

/** The UUIDv7 of a millisecond and 74 random bits: version 7, variant 0b10, canonical lowercase form. */
export function uuid7Of(unixMs: number, rand: bigint): string {
  const randA = rand >> 62n;
  const randB = rand & ((1n << 62n) - 1n);
  const value = ((BigInt(unixMs) & ((1n << 48n) - 1n)) << 80n) | (0x7n << 76n) | (randA << 64n) | (0b10n << 62n) | randB;
  const h = value.toString(16).padStart(32, "0");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Mints strictly increasing UUIDv7s (RFC 9562 section 6.2, method 2: the 74 random bits are a
 * counter, seeded at random each new millisecond and incremented by a random step within one; a
 * wall clock that steps back keeps counting on the last millisecond).
 */
export class UuidMinter {
  private lastMs = -1;
  private lastRand = 0n;

  constructor(private readonly nowMs: () => number = Date.now) {}

  mint(): string {
    const now = Math.floor(this.nowMs());
    let ms: number;
    let rand: bigint;
    if (now > this.lastMs) {
      ms = now;
      rand = randomBits(SEED_BITS);
    } else {
      ms = this.lastMs;
      rand = this.lastRand + 1n + randomBits(16);
      if (rand > RAND_MAX) {
        ms = this.lastMs + 1;
        rand = randomBits(SEED_BITS);
      }
    }
    this.lastMs = ms;
    this.lastRand = rand;
    return uuid7Of(ms, rand);
  }
}

/** The next clock: `max(now_ms * 1024, last_clock + 1)` (a multiplication: `<<` is 32-bit in JavaScript). */
export function nextClock(nowMs: number, lastClock: number): number {
  return Math.max(Math.floor(nowMs) * 1024, lastClock + 1);
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
