/** The SQLSTATE of a Postgres error, however deeply Prisma and its driver adapter wrapped it. */
export function postgresErrorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const record = error as Record<string, unknown>;
  for (const nested of [record.meta, record.driverAdapterError, record.cause]) {
    const code = postgresErrorCode(nested, depth + 1);
    if (code !== undefined) return code;
  }
  // Prisma's own codes (P2010, …) have the same shape as SQLSTATEs; the driver's code is nested.
  const own = record.code;
  return typeof own === 'string' && /^[0-9A-Z]{5}$/.test(own) && !own.startsWith('P') ? own : undefined;
}

/** The constraint a Postgres error names (a unique violation's index, …), however deeply it was wrapped. */
export function postgresConstraint(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const record = error as Record<string, unknown>;
  if (typeof record.constraint === 'string') return record.constraint;
  for (const nested of [record.meta, record.driverAdapterError, record.cause]) {
    const constraint = postgresConstraint(nested, depth + 1);
    if (constraint !== undefined) return constraint;
  }
  return undefined;
}

/** Postgres stopped the statement because it ran past statement_timeout (not a manual cancel). */
export function isStatementTimeout(error: unknown): boolean {
  return postgresErrorCode(error) === '57014' && /statement timeout/i.test(messages(error).join(' '));
}

function messages(error: unknown, depth = 0): string[] {
  if (typeof error !== 'object' || error === null || depth > 4) return [];
  const record = error as Record<string, unknown>;
  const own = typeof record.message === 'string' ? [record.message] : [];
  return [
    ...own,
    ...[record.meta, record.driverAdapterError, record.cause].flatMap((nested) => messages(nested, depth + 1)),
  ];
}
