import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { get_dmmf } from '@prisma/prisma-schema-wasm';
import { Client } from 'pg';

import { createTestDatabase, TestDatabase } from '../support/database';

/**
 * The migrations are hand-written SQL (Prisma's schema engine cannot be fetched here), so this test
 * holds them to prisma/schema.prisma: every model's table, column, type, nullability, primary key,
 * unique constraint and enum must be the same on both sides.
 */

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  type: string;
  isRequired: boolean;
  isList: boolean;
  isId: boolean;
  isUnique: boolean;
  nativeType?: [string, string[]] | null;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
  primaryKey: { fields: string[] } | null;
  uniqueFields: string[][];
}
interface DmmfEnum {
  name: string;
  dbName?: string | null;
  values: { name: string; dbName?: string | null }[];
}
interface Dmmf {
  datamodel: { models: DmmfModel[]; enums: DmmfEnum[] };
}

const schema = readFileSync(join(__dirname, '..', '..', 'prisma', 'schema.prisma'), 'utf8');
const dmmf = JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: schema }))) as Dmmf;
const enumDbName = new Map(dmmf.datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));

/** The Postgres type Prisma's migrate would create for a field, as information_schema spells it. */
function expectedType(field: DmmfField): string {
  // A scalar list is a Postgres array, which Prisma's migrate creates without NOT NULL.
  if (field.isList) {
    const element = expectedType({ ...field, isList: false });
    const udt: Record<string, string> = {
      bigint: 'int8',
      integer: 'int4',
      text: 'text',
      uuid: 'uuid',
      boolean: 'bool',
    };
    return `ARRAY:_${udt[element] ?? element}`;
  }
  if (field.kind === 'enum') return `USER-DEFINED:${enumDbName.get(field.type)}`;
  const native = field.nativeType?.[0];
  switch (native) {
    case 'Uuid':
      return 'uuid';
    case 'Timestamptz':
      return `timestamp with time zone(${field.nativeType?.[1][0] ?? 6})`;
    case 'VarChar':
      return `character varying(${field.nativeType?.[1][0]})`;
    case undefined:
      break;
    default:
      throw new Error(`no mapping for native type ${native} on ${field.name}`);
  }
  const defaults: Record<string, string> = {
    String: 'text',
    Int: 'integer',
    BigInt: 'bigint',
    Boolean: 'boolean',
    Json: 'jsonb',
    DateTime: 'timestamp without time zone(3)',
    Float: 'double precision',
  };
  const type = defaults[field.type];
  if (!type) throw new Error(`no mapping for ${field.type} on ${field.name}`);
  return type;
}

interface ColumnRow {
  table_name: string;
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: 'YES' | 'NO';
  character_maximum_length: number | null;
  datetime_precision: number | null;
}

function actualType(column: ColumnRow): string {
  if (column.data_type === 'ARRAY') return `ARRAY:${column.udt_name}`;
  if (column.data_type === 'USER-DEFINED') return `USER-DEFINED:${column.udt_name}`;
  if (column.data_type === 'character varying') return `character varying(${column.character_maximum_length})`;
  if (column.data_type.startsWith('timestamp')) return `${column.data_type}(${column.datetime_precision})`;
  return column.data_type;
}

describe('schema.prisma and the SQL migrations agree', () => {
  let database: TestDatabase;
  let client: Client;
  let columns: ColumnRow[];

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new Client({ connectionString: database.url });
    await client.connect();
    columns = (
      await client.query<ColumnRow>(
        `SELECT table_name, column_name, data_type, udt_name, is_nullable, character_maximum_length, datetime_precision
           FROM information_schema.columns WHERE table_schema = 'public'`,
      )
    ).rows;
  });
  afterAll(async () => {
    await client.end();
    await database.drop();
  });

  const columnName = (field: DmmfField) => field.dbName ?? field.name;
  const tableName = (model: DmmfModel) => model.dbName ?? model.name;

  it('has exactly the tables of the models (besides the migration history)', () => {
    const tables = new Set(columns.map((c) => c.table_name));
    tables.delete('_prisma_migrations');
    expect([...tables].sort()).toEqual(dmmf.datamodel.models.map(tableName).sort());
  });

  it.each(dmmf.datamodel.models.map((model) => [model.name, model] as const))(
    '%s: columns, types and nullability',
    (_, model) => {
      const scalarFields = model.fields.filter((f) => f.kind === 'scalar' || f.kind === 'enum');
      const expected = scalarFields
        .map((f) => ({ column: columnName(f), type: expectedType(f), nullable: f.isList || !f.isRequired }))
        .sort((a, b) => a.column.localeCompare(b.column));
      const actual = columns
        .filter((c) => c.table_name === tableName(model))
        .map((c) => ({ column: c.column_name, type: actualType(c), nullable: c.is_nullable === 'YES' }))
        .sort((a, b) => a.column.localeCompare(b.column));
      expect(actual).toEqual(expected);
    },
  );

  it.each(dmmf.datamodel.models.map((model) => [model.name, model] as const))(
    '%s: primary key and unique constraints',
    async (_, model) => {
      const { rows } = await client.query<{ unique: boolean; primary: boolean; columns: string[] }>(
        `SELECT i.indisunique AS unique, i.indisprimary AS primary,
                array_agg(a.attname::text ORDER BY k.ord) AS columns
           FROM pg_index i
           JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
           CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
          WHERE t.relname = $1 AND i.indisunique AND i.indpred IS NULL
          GROUP BY i.indexrelid, i.indisunique, i.indisprimary`,
        [tableName(model)],
      );
      const byField = new Map(model.fields.map((f) => [f.name, columnName(f)]));
      const toColumns = (fields: string[]) => fields.map((f) => byField.get(f) ?? f).join(',');
      const idField = model.fields.find((f) => f.isId);
      const expectedPrimary = model.primaryKey ? toColumns(model.primaryKey.fields) : idField && columnName(idField);
      const expectedUnique = [
        ...model.uniqueFields.map(toColumns),
        ...model.fields.filter((f) => f.isUnique).map(columnName),
      ].sort();
      expect(rows.filter((r) => r.primary).map((r) => r.columns.join(','))).toEqual([expectedPrimary]);
      expect(
        rows
          .filter((r) => !r.primary)
          .map((r) => r.columns.join(','))
          .sort(),
      ).toEqual(expectedUnique);
    },
  );

  it('has the enums of the schema with the same values', async () => {
    const { rows } = await client.query<{ name: string; values: string[] }>(
      `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`,
    );
    const expected = dmmf.datamodel.enums
      .map((e) => ({ name: e.dbName ?? e.name, values: e.values.map((v) => v.dbName ?? v.name) }))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(rows.sort((a, b) => a.name.localeCompare(b.name))).toEqual(expected);
  });

  it('has every index the schema declares', async () => {
    const { rows } = await client.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`,
    );
    const names = new Set(rows.map((r) => r.indexname));
    // Prisma's naming convention: <table>_<columns>_idx for @@index.
    const declared = [...schema.matchAll(/@@index\(\[([^\]]+)\]/g)];
    expect(declared.length).toBeGreaterThan(0);
    for (const model of dmmf.datamodel.models) {
      const block = new RegExp(`model ${model.name} \\{([\\s\\S]*?)\\n\\}`).exec(schema)?.[1] ?? '';
      for (const match of block.matchAll(/@@index\(\[([^\]]+)\]/g)) {
        const fields = (match[1] ?? '').split(',').map((f) => f.trim().replace(/\(.*\)$/, ''));
        const byField = new Map(model.fields.map((f) => [f.name, columnName(f)]));
        const name = `${tableName(model)}_${fields.map((f) => byField.get(f) ?? f).join('_')}_idx`;
        expect(names).toContain(name);
      }
    }
  });
});
