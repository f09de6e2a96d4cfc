import { Prisma } from '../generated/prisma/client';

/**
 * Session settings for statements that evaluate audiences and funnels (previews, explains,
 * funnel reports, full computations). The benchmark applies the same ones, so that it times what
 * the application runs.
 *
 * - jit off: these statements are index and hash driven, and JIT compiles every expression of a
 *   plan before running it: a 65 KB definition (100 conditions × 50 filters) spent over 5 minutes
 *   in JIT on 1M events, against 26 s without (and far less once its conditions share one scan).
 * - work_mem 32MB: the sorts of sequence conditions stay in memory, and hashed profile sets of up
 *   to about 1.6M profiles are hashed (hash_mem is twice work_mem) rather than searched linearly,
 *   see profileIn in the audience compiler.
 */
export const ANALYTICAL_SETTINGS: Readonly<Record<string, string>> = {
  jit: 'off',
  work_mem: '32MB',
};

/** The settings as a connection's startup `options` (`-c name=value …`), for a pool of its own. */
export function startupOptions(settings: Readonly<Record<string, string>>): string {
  return Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
}

/** The settings for the rest of the current transaction only (set_config(…, true) = SET LOCAL). */
export function setLocal(settings: Readonly<Record<string, string>>): Prisma.Sql {
  const calls = Object.entries(settings).map(([name, value]) => Prisma.sql`set_config(${name}, ${value}, true)`);
  return Prisma.sql`SELECT ${Prisma.join(calls, ', ')}`;
}
