import { Injectable } from '@nestjs/common';

import { cursorDate, cursorParts, cursorUuid } from '../common/cursor';
import {
  decodeCreatedCursor,
  DEFAULT_PAGE_SIZE,
  encodeCreatedCursor,
  pageFrom,
  PageRequest,
} from '../common/pagination';
import { badRequestFor, FieldProblem } from '../common/validation';
import { DeliveryQueuesService } from '../queues/delivery-queues.service';
import { AddressPolicy } from './address-policy';
import {
  DestinationConfig,
  DestinationType,
  EmailConfig,
  mergeConfig,
  publicConfig,
  validateConfig,
} from './destination-config';
import {
  CreateDestinationDto,
  DEFAULT_DELIVERIES_PAGE,
  DeliveriesQueryDto,
  DeliveryCountsView,
  DeliveryPageView,
  DestinationListView,
  DestinationView,
  UpdateDestinationDto,
} from './destinations.dto';
import { DestinationNotFoundError, DestinationUsedByJourneysError, invalidDeliveryCursor } from './destinations.errors';
import {
  DELIVERY_STATUSES,
  DeliveryCursor,
  DeliveryRow,
  DestinationRow,
  DestinationsRepository,
} from './destinations.repository';
import { secretsNeededAgain } from './endpoint-rules';
import { TemplateRenderer } from './template-renderer';

export function encodeDeliveryCursor(row: Pick<DeliveryRow, 'createdAt' | 'id' | 'position'>): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}|${row.position}`).toString('base64url');
}

/** A cursor of this version, or of the one before transition batches (no position: after the whole row). */
export function decodeDeliveryCursor(cursor: string): DeliveryCursor {
  const [at, rawId, rawPosition] = cursorParts(cursor, 3) ?? cursorParts(cursor, 2) ?? [];
  const createdAt = cursorDate(at);
  const id = cursorUuid(rawId);
  const position = rawPosition === undefined ? 0 : /^\d{1,9}$/.test(rawPosition) ? Number(rawPosition) : undefined;
  if (!createdAt || !id || position === undefined) throw invalidDeliveryCursor();
  return { createdAt, id, position };
}

@Injectable()
export class DestinationsService {
  constructor(
    private readonly repository: DestinationsRepository,
    private readonly queues: DeliveryQueuesService,
    private readonly policy: AddressPolicy,
    private readonly templates: TemplateRenderer,
  ) {}

  async create(workspaceId: string, dto: CreateDestinationDto): Promise<DestinationView> {
    const config = await this.checkedConfig(dto.type, dto.config);
    const row = await this.repository.create(workspaceId, {
      type: dto.type,
      name: dto.name,
      config,
      rateLimitPerSecond: dto.rateLimitPerSecond ?? null,
    });
    return view(row);
  }

  async list(workspaceId: string, page: PageRequest = {}): Promise<DestinationListView> {
    const limit = page.limit ?? DEFAULT_PAGE_SIZE;
    const after = page.cursor === undefined ? undefined : decodeCreatedCursor(page.cursor);
    const rows = await this.repository.list(workspaceId, limit + 1, after);
    return pageFrom(rows, limit, encodeCreatedCursor, (row) => view(row));
  }

  async get(workspaceId: string, id: string): Promise<DestinationView> {
    const row = await this.repository.find(workspaceId, id);
    if (!row) throw new DestinationNotFoundError();
    return { ...view(row), counts: await this.counts(workspaceId, id) };
  }

  async update(workspaceId: string, id: string, dto: UpdateDestinationDto): Promise<DestinationView> {
    const row = await this.repository.find(workspaceId, id);
    if (!row) throw new DestinationNotFoundError();
    let config: object | undefined;
    if (dto.config) {
      const stored = row.config as Record<string, unknown>;
      const merged = mergeConfig(stored, dto.config);
      config = await this.checkedConfig(row.type, merged, secretsNeededAgain(row.type, stored, dto.config, merged));
    }
    const updated = await this.repository.update(workspaceId, id, {
      name: dto.name,
      config,
      rateLimitPerSecond: dto.rateLimitPerSecond,
    });
    if (!updated) throw new DestinationNotFoundError();
    return { ...view(updated), counts: await this.counts(workspaceId, id) };
  }

  /**
   * Deletes the destination with its connections and deliveries, and drops its queue from Redis.
   * Refused while a journey sends through it (its runs would record sends that go nowhere).
   */
  async delete(workspaceId: string, id: string): Promise<void> {
    const journeys = await this.repository.journeysUsing(workspaceId, id);
    if (journeys.length > 0) throw new DestinationUsedByJourneysError(journeys);
    if (!(await this.repository.delete(workspaceId, id))) throw new DestinationNotFoundError();
    await this.queues.queueFor(id).obliterate({ force: true });
    await this.queues.release(id);
  }

  async deliveries(workspaceId: string, id: string, query: DeliveriesQueryDto): Promise<DeliveryPageView> {
    const after = query.cursor ? decodeDeliveryCursor(query.cursor) : undefined;
    if (!(await this.repository.find(workspaceId, id))) throw new DestinationNotFoundError();
    const size = query.limit ?? DEFAULT_DELIVERIES_PAGE;
    const rows = await this.repository.pageDeliveries(workspaceId, id, size + 1, query.status, after);
    const page = rows.slice(0, size);
    const last = page[page.length - 1];
    return {
      items: page.map(({ position: _position, ...row }) => ({
        ...row,
        transitionId: row.transitionId?.toString() ?? null,
      })),
      nextCursor: rows.length > size && last ? encodeDeliveryCursor(last) : null,
    };
  }

  /**
   * A config that passes every rule, or a 400 naming the fields that do not: shape, addresses,
   * secrets (`more`), and, once all that holds, a sample render of the templates off the event loop.
   */
  private async checkedConfig(
    type: DestinationType,
    raw: unknown,
    more: FieldProblem[] = [],
  ): Promise<DestinationConfig> {
    const result = validateConfig(type, raw, this.policy);
    const problems = [...('config' in result ? [] : result.problems), ...more];
    if (problems.length > 0 || !('config' in result)) throw badRequestFor(problems);
    if (type === 'email') {
      const email = result.config as EmailConfig;
      const rendered = await this.templates.sampleProblems({
        subject: email.subject,
        html: email.html,
        text: email.text,
      });
      if (rendered.length > 0) throw badRequestFor(rendered);
    }
    return result.config;
  }

  private async counts(workspaceId: string, id: string): Promise<DeliveryCountsView> {
    const found = await this.repository.counts(workspaceId, id);
    return Object.fromEntries(
      DELIVERY_STATUSES.map((status) => [status, found[status] ?? 0]),
    ) as unknown as DeliveryCountsView;
  }
}

function view(row: DestinationRow): DestinationView {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    config: publicConfig(row.type, row.config),
    rateLimitPerSecond: row.rateLimitPerSecond,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
