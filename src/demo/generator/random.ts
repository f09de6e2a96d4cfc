/**
 * Seeded randomness for the data generator (benchmarks and the demo). Math.random and
 * crypto.randomUUID are off limits here: every value, uuids included, must come out of a stream
 * that a seed fully determines.
 */

const TWO_POW_32 = 4_294_967_296;

const HEX_BYTES: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function byteHex(byte: number): string {
  return HEX_BYTES[byte] ?? '00';
}

function mix32(value: number): number {
  let z = value | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** 32-bit FNV-1a, to turn names (workspace name, stream labels) into seed keys. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}

export interface WeightedChoice<T> {
  readonly value: T;
  readonly weight: number;
}

/** A precomputed cumulative table, so a weighted pick costs one float and a short scan. */
export class WeightedTable<T> {
  private readonly values: readonly T[];
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(choices: readonly WeightedChoice<T>[]) {
    if (choices.length === 0) throw new Error('a weighted table needs at least one choice');
    this.values = choices.map((choice) => choice.value);
    this.cumulative = new Float64Array(choices.length);
    let sum = 0;
    choices.forEach((choice, index) => {
      sum += choice.weight;
      this.cumulative[index] = sum;
    });
    this.total = sum;
  }

  pick(random: Random): T {
    const target = random.float() * this.total;
    for (let i = 0; i < this.cumulative.length; i += 1) {
      if (target < (this.cumulative[i] ?? Infinity)) return this.at(i);
    }
    return this.at(this.values.length - 1);
  }

  private at(index: number): T {
    const value = this.values[index];
    if (value === undefined) throw new Error(`weighted table has no entry ${index}`);
    return value;
  }
}

/**
 * sfc32: small, fast, and good enough statistically for synthetic data. Each stream is keyed by
 * (seed, ...keys), so one profile's story can be regenerated on its own (or on another thread)
 * without replaying everyone before it.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, ...keys: number[]) {
    let state = mix32(Math.floor(seed / TWO_POW_32) ^ 0x5bd1e995) ^ mix32(seed >>> 0);
    for (const key of keys) state = mix32(state ^ mix32(key + 0x9e3779b9));
    const next = (): number => {
      state = (state + 0x9e3779b9) | 0;
      return mix32(state);
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    // The first outputs of a freshly seeded sfc32 are still correlated with the seed words.
    for (let i = 0; i < 12; i += 1) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / TWO_POW_32;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new Error('cannot pick from an empty list');
    return item;
  }

  exponential(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  /** Number of failures before the first success; mean (1 - p) / p. */
  geometric(successProbability: number): number {
    return Math.floor(Math.log(1 - this.float()) / Math.log(1 - successProbability));
  }

  /** Heavy-tailed: most draws near `scale`, a few far above it (the Zipf-like part of activity). */
  pareto(alpha: number, scale: number): number {
    return scale / Math.pow(1 - this.float(), 1 / alpha);
  }

  hex(bytes: number): string {
    let out = '';
    for (let i = 0; i < bytes; i += 4) {
      const word = this.uint32();
      out += byteHex(word >>> 24) + byteHex((word >>> 16) & 0xff) + byteHex((word >>> 8) & 0xff) + byteHex(word & 0xff);
    }
    return out.slice(0, bytes * 2);
  }

  /** An RFC 4122 version-4 shaped uuid drawn from this stream. */
  uuid(): string {
    const a = this.uint32();
    const b = this.uint32();
    const c = this.uint32();
    const d = this.uint32();
    // prettier-ignore
    return (
      byteHex(a >>> 24) + byteHex((a >>> 16) & 0xff) + byteHex((a >>> 8) & 0xff) + byteHex(a & 0xff) + '-' +
      byteHex(b >>> 24) + byteHex((b >>> 16) & 0xff) + '-' +
      byteHex(((b >>> 8) & 0x0f) | 0x40) + byteHex(b & 0xff) + '-' +
      byteHex(((c >>> 24) & 0x3f) | 0x80) + byteHex((c >>> 16) & 0xff) + '-' +
      byteHex((c >>> 8) & 0xff) + byteHex(c & 0xff) +
      byteHex(d >>> 24) + byteHex((d >>> 16) & 0xff) + byteHex((d >>> 8) & 0xff) + byteHex(d & 0xff)
    );
  }
}
