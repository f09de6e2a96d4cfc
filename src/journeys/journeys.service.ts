import { Injectable } from '@nestjs/common';

import { Clock } from '../common/clock';
import { decodeKeyCursor, DEFAULT_PAGE_SIZE, encodeKeyCursor, pageFrom, PageRequest } from '../common/pagination';
import type { FieldProblem } from '../common/problems';
import { compileTemplate, TemplateError, TemplateKind } from '../destinations/templates';
import { JourneyDefinition, levelOf, readJourneyDefinition, type SubjectLevel } from './journey-definition';
import { CreateJourneyDto, JourneyListView, JourneyView, UpdateJourneyDto } from './journeys.dto';
import {
  DuplicateJourneyKeyError,
  InvalidJourneyError,
  JourneyNotFoundError,
  JourneyNotRunningError,
} from './journeys.errors';
import { JourneyRow, JourneysRepository } from './journeys.repository';

@Injectable()
export class JourneysService {
  constructor(
    private readonly repository: JourneysRepository,
    private readonly clock: Clock,
  ) {}

  async create(workspaceId: string, input: CreateJourneyDto): Promise<JourneyView> {
    const definition = await this.read(workspaceId, input);
    const row = await this.repository.insert(workspaceId, {
      key: input.key,
      name: input.name,
      definition,
      now: this.clock.now(),
    });
    if (!row) throw new DuplicateJourneyKeyError(input.key);
    return view(row);
  }

  async list(workspaceId: string, query: PageRequest): Promise<JourneyListView> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = query.cursor !== undefined ? decodeKeyCursor(query.cursor) : undefined;
    const rows = await this.repository.page(workspaceId, limit, after);
    return pageFrom(rows, limit, (row) => encodeKeyCursor(row.key), view);
  }

  async get(workspaceId: string, id: string): Promise<JourneyView> {
    return view(await this.found(workspaceId, id));
  }

  /** Parts left out keep their current value; a changed graph of a journey that ran is a new version. */
  async update(workspaceId: string, id: string, input: UpdateJourneyDto): Promise<JourneyView> {
    const current = await this.found(workspaceId, id);
    const parts = ['entry', 'reentry', 'exit', 'steps', 'quietHours', 'recipients'] as const;
    let definition: JourneyDefinition | undefined;
    if (parts.some((part) => input[part] !== undefined)) {
      const merged = { ...current.definition } as Record<string, unknown>;
      for (const part of parts) if (input[part] !== undefined) merged[part] = input[part];
      definition = await this.read(workspaceId, merged as Parameters<typeof readJourneyDefinition>[0]);
    }
    const row = await this.repository.update(workspaceId, id, { name: input.name, definition, now: this.clock.now() });
    if (!row) throw new JourneyNotFoundError();
    return view(row);
  }

  async delete(workspaceId: string, id: string): Promise<void> {
    if (!(await this.repository.delete(workspaceId, id))) throw new JourneyNotFoundError();
  }

  async activate(workspaceId: string, id: string): Promise<JourneyView> {
    const row = await this.repository.activate(workspaceId, id, this.clock.now());
    if (!row) throw new JourneyNotFoundError();
    return view(row);
  }

  async pause(workspaceId: string, id: string): Promise<JourneyView> {
    const row = await this.repository.pause(workspaceId, id, this.clock.now());
    if (!row) throw new JourneyNotFoundError();
    if (row.status === 'draft') throw new JourneyNotRunningError();
    return view(row);
  }

  async found(workspaceId: string, id: string): Promise<JourneyRow> {
    const row = await this.repository.find(workspaceId, id);
    if (!row) throw new JourneyNotFoundError();
    return row;
  }

  /**
   * The definition read at the level of its entry audience (conditions about a person, or about an
   * account), then checked against the workspace: the entry audience and every destination exist,
   * and an account journey sends email only (to the recipients among the account's members).
   */
  private async read(
    workspaceId: string,
    input: Parameters<typeof readJourneyDefinition>[0],
  ): Promise<JourneyDefinition> {
    const entryKey =
      typeof input.entry === 'object' && input.entry !== null && 'audience' in input.entry
        ? input.entry.audience
        : undefined;
    const audiences =
      typeof entryKey === 'string'
        ? await this.repository.existingAudiences(workspaceId, [entryKey])
        : new Map<string, SubjectLevel>();
    const level = typeof entryKey === 'string' ? audiences.get(entryKey) : undefined;
    const read = readJourneyDefinition(input, level ?? 'profile');
    if (!read.ok) throw new InvalidJourneyError(read.problems);
    const { definition } = read;
    const problems: FieldProblem[] = [];
    if (!audiences.has(definition.entry.audience)) {
      problems.push({
        field: 'entry.audience',
        reason: `no audience "${definition.entry.audience}" in this workspace`,
      });
    }
    const destinations = definition.steps.flatMap((step, i) =>
      step.type === 'send' ? [{ i, id: step.destination }] : [],
    );
    const known = await this.repository.existingDestinations(workspaceId, [...new Set(destinations.map((d) => d.id))]);
    for (const { i, id } of destinations) {
      const type = known.get(id);
      if (!type)
        problems.push({ field: `steps[${i}].destination`, reason: `no destination "${id}" in this workspace` });
      else if (levelOf(definition) === 'account' && type !== 'email')
        problems.push({
          field: `steps[${i}].destination`,
          reason: `an account journey sends email to the account's recipients; "${id}" is a ${type} destination`,
        });
    }
    definition.steps.forEach((step, i) => {
      if (step.type !== 'send') return;
      for (const [field, kind] of [
        ['subject', 'text'],
        ['text', 'text'],
        ['html', 'html'],
      ] as const) {
        const problem = templateProblem(step[field], kind);
        if (problem) problems.push({ field: `steps[${i}].${field}`, reason: problem });
      }
    });
    if (problems.length > 0) throw new InvalidJourneyError(problems);
    return definition;
  }
}

function templateProblem(source: string | undefined, kind: TemplateKind): string | undefined {
  if (source === undefined) return undefined;
  try {
    compileTemplate(source, kind);
    return undefined;
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    return `is not a valid template: ${error.message}`;
  }
}

function view(row: JourneyRow): JourneyView {
  const { entry, reentry, exit, steps, quietHours } = row.definition;
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    status: row.status,
    version: row.version,
    level: levelOf(row.definition),
    recipients: row.definition.recipients ?? null,
    entry,
    reentry,
    exit,
    steps,
    quietHours,
    activatedAt: row.activatedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
