/**
 * Date#toISOString was the generator's single hottest call (three per event). Events of one person
 * cluster in a few days, so caching the date part and formatting only the time of day is much faster
 * while producing exactly the same text for years 0000–9999.
 */

const DAY_MS = 86_400_000;
const PAD2: readonly string[] = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
const PAD3: readonly string[] = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));

let cachedDay = Number.NaN;
let cachedPrefix = '';

export function isoTimestamp(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${cachedPrefix}${PAD2[hours] ?? ''}:${PAD2[minutes] ?? ''}:${PAD2[seconds] ?? ''}.${PAD3[millis] ?? ''}Z`;
}
