import type { EventRow, IdentityRow, ProfileRow, SourceRow, WorkspaceRow } from '../../src/demo/generator/rows';

/**
 * Rows → PostgreSQL COPY text format (tab-separated, one row a line, `\N` for NULL). Only
 * backslash, newline, carriage return and tab need escaping in this format; JSON text never holds
 * raw control characters, but it can hold backslashes (escaped quotes), so every value goes
 * through `escapeCopyText`.
 */

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPABLE = /[\\\n\r\t]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export const COPY_NULL = '\\N';

export function escapeCopyText(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(ESCAPABLE, (char) => ESCAPES[char] ?? char) : value;
}

function nullable(value: string | null): string {
  return value === null ? COPY_NULL : escapeCopyText(value);
}

export interface CopyTable<Row> {
  readonly table: string;
  readonly columns: readonly string[];
  line(row: Row): string;
}

function copyStatement(table: string, columns: readonly string[]): string {
  return `COPY "${table}" (${columns.map((column) => `"${column}"`).join(', ')}) FROM STDIN`;
}

export function copySql<Row>(target: CopyTable<Row>): string {
  return copyStatement(target.table, target.columns);
}

// Uuids and ISO timestamps are generated, never user text, so they skip escaping.

export const WORKSPACES: CopyTable<WorkspaceRow> = {
  table: 'workspaces',
  columns: ['id', 'name', 'settings', 'created_at'],
  line: (row) => `${row.id}\t${escapeCopyText(row.name)}\t${escapeCopyText(row.settings)}\t${row.createdAt}\n`,
};

export const SOURCES: CopyTable<SourceRow> = {
  table: 'sources',
  columns: ['id', 'workspace_id', 'name', 'write_key', 'created_at'],
  line: (row) =>
    `${row.id}\t${row.workspaceId}\t${escapeCopyText(row.name)}\t${escapeCopyText(row.writeKey)}\t${row.createdAt}\n`,
};

export const PROFILES: CopyTable<ProfileRow> = {
  table: 'profiles',
  columns: ['id', 'workspace_id', 'traits', 'first_seen_at', 'last_seen_at', 'created_at', 'updated_at'],
  line: (row) =>
    `${row.id}\t${row.workspaceId}\t${escapeCopyText(row.traits)}\t${row.firstSeenAt}\t${row.lastSeenAt}\t${row.createdAt}\t${row.updatedAt}\n`,
};

export const IDENTITIES: CopyTable<IdentityRow> = {
  table: 'identities',
  columns: ['id', 'workspace_id', 'profile_id', 'type', 'value', 'created_at'],
  line: (row) =>
    `${row.id}\t${row.workspaceId}\t${row.profileId}\t${row.type}\t${escapeCopyText(row.value)}\t${row.createdAt}\n`,
};

export const EVENTS: CopyTable<EventRow> = {
  table: 'events',
  columns: [
    'workspace_id',
    'profile_id',
    'source_id',
    'message_id',
    'type',
    'name',
    'user_id',
    'anonymous_id',
    'properties',
    'traits',
    'context',
    'timestamp',
    'original_timestamp',
    'sent_at',
    'received_at',
  ],
  line: (row) =>
    `${row.workspaceId}\t${row.profileId}\t${row.sourceId}\t${escapeCopyText(row.messageId)}\t${row.type}\t` +
    `${nullable(row.name)}\t${nullable(row.userId)}\t${escapeCopyText(row.anonymousId)}\t` +
    `${escapeCopyText(row.properties)}\t${nullable(row.traits)}\t${escapeCopyText(row.context)}\t` +
    `${row.timestamp}\t${row.originalTimestamp}\t${row.sentAt}\t${row.receivedAt}\n`,
};
