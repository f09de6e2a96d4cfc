/**
 * An error and the errors it wraps (Prisma's `meta`, its driver adapter's error, `cause`), to a
 * depth of four, the wrapped ones before their wrapper: the driver's own error comes first.
 */
function layers(error: unknown, depth = 0): Record<string, unknown>[] {
  if (typeof error !== 'object' || error === null || depth > 4) return [];
  const record = error as Record<string, unknown>;
  return [
    ...[record.meta, record.driverAdapterError, record.cause].flatMap((nested) => layers(nested, depth + 1)),
    record,
  ];
}

/** The SQLSTATE of a Postgres error, however deeply Prisma and its driver adapter wrapped it. */
export function postgresErrorCode(error: unknown): string | undefined {
  // Prisma's own codes (P2010, …) have the same shape as SQLSTATEs; the driver's code is nested.
  const isSqlState = (code: unknown): code is string =>
    typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('P');
  return layers(error)
    .map((layer) => layer.code)
    .find(isSqlState);
}

/** The constraint a Postgres error names (a unique violation's index, …), however deeply it was wrapped. */
export function postgresConstraint(error: unknown): string | undefined {
  return layers(error)
    .map((layer) => layer.constraint)
    .find((constraint): constraint is string => typeof constraint === 'string');
}

/** Postgres stopped the statement because it ran past statement_timeout (not a manual cancel). */
export function isStatementTimeout(error: unknown): boolean {
  const messages = layers(error)
    .map((layer) => layer.message)
    .filter((message) => typeof message === 'string');
  return postgresErrorCode(error) === '57014' && /statement timeout/i.test(messages.join(' '));
}
