import { readFileSync } from 'node:fs';

import type { Client } from 'pg';

const TICKS_PER_SECOND = 100;

/**
 * CPU used so far by the backends serving this database, by pid (Linux /proc; empty elsewhere).
 * Only backends alive at both ends of a phase are counted, which the busy pool keeps true.
 */
export async function backendCpu(sql: Client): Promise<Map<number, number>> {
  const { rows } = await sql.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  const used = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      // Fields after the parenthesized command name: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      used.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND);
    } catch {
      // The backend ended, or there is no /proc.
    }
  }
  return used;
}

/** Milliseconds of CPU the backends used between two readings. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) {
    const start = before.get(pid);
    if (start !== undefined) total += ms - start;
  }
  return total;
}
