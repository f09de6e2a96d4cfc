import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

import { badRequestFor } from './validation';

/**
 * Every list answers `{"items": […], "nextCursor": string | null}`. A list that can grow pages by
 * keyset: the cursor names the last row of a page, so a page never skips or repeats a row however
 * many are added or removed in between (an offset would).
 */

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1_000;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit?: number;
  cursor?: string;
}

/** `?limit=&cursor=` of a list. */
export class PageQueryDto implements PageRequest {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Page size' })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: '$property must be an integer' })
  @Min(1, { message: '$property must be at least 1' })
  @Max(MAX_PAGE_SIZE, { message: `$property must be at most ${MAX_PAGE_SIZE}` })
  limit?: number;

  @CursorField()
  cursor?: string;
}

export function CursorField() {
  return applyDecorators(
    ApiPropertyOptional({ description: 'nextCursor of the previous page' }),
    IsOptional(),
    IsString({ message: '$property must be a string' }),
    MaxLength(200, { message: '$property must be at most 200 characters' }),
  );
}

export function invalidCursor() {
  return badRequestFor([{ field: 'cursor', reason: 'is not a cursor this API returned' }]);
}

/** Position after a row of a list ordered by (createdAt, id). */
export interface CreatedCursor {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCreatedCursor(row: CreatedCursor): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

/** Throws the 400 naming `cursor` for anything this API did not hand out. */
export function decodeCreatedCursor(cursor: string): CreatedCursor {
  const [at, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (Number.isNaN(createdAt.getTime()) || !id || !UUID.test(id) || extra !== undefined) throw invalidCursor();
  return { createdAt, id };
}

/** Position after a row of a list ordered by a unique text key (an audience's key). */
export function encodeKeyCursor(key: string): string {
  return Buffer.from(`k|${key}`).toString('base64url');
}

export function decodeKeyCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('k|') || text.length < 3) throw invalidCursor();
  return text.slice(2);
}

/**
 * A page from rows fetched with `limit + 1`: the extra row only says that there is a next page,
 * whose cursor names the last row kept.
 */
export function pageFrom<Row, Item>(
  rows: readonly Row[],
  limit: number,
  cursorOf: (row: Row) => string,
  toItem: (row: Row) => Item,
): Page<Item> {
  const kept = rows.slice(0, limit);
  const last = kept[kept.length - 1];
  return {
    items: kept.map((row) => toItem(row)),
    nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null,
  };
}

/** A list that cannot grow past a handful of rows answers in the same shape, always on one page. */
export function singlePage<T>(items: T[]): Page<T> {
  return { items, nextCursor: null };
}
