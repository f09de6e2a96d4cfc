import { Injectable, NotFoundException } from '@nestjs/common';

import { hashToken, newApiToken, newWriteKey } from '../auth/credentials';
import {
  decodeCreatedCursor,
  DEFAULT_PAGE_SIZE,
  encodeCreatedCursor,
  Page,
  pageFrom,
  PageRequest,
} from '../common/pagination';
import { CreatedWorkspaceView, SourceView, WorkspaceView } from './workspaces.dto';
import { SourceChanges, SourceRow, SourceValidation, WorkspacesRepository } from './workspaces.repository';

@Injectable()
export class WorkspacesService {
  constructor(private readonly repository: WorkspacesRepository) {}

  async create(name: string, sourceName = 'Default'): Promise<CreatedWorkspaceView> {
    const apiToken = newApiToken();
    const { workspace, source } = await this.repository.createWithCredentials({
      name,
      sourceName,
      writeKey: newWriteKey(),
      tokenName: 'Initial token',
      tokenHash: hashToken(apiToken),
    });
    return { workspace: { id: workspace.id, name: workspace.name }, source: toSourceView(source), apiToken };
  }

  /** Mints another API token for a workspace (the demo prints a fresh one at every start). */
  async issueApiToken(workspaceId: string, name: string): Promise<string> {
    const apiToken = newApiToken();
    await this.repository.createApiToken(workspaceId, name, hashToken(apiToken));
    return apiToken;
  }

  async get(workspaceId: string): Promise<WorkspaceView> {
    const workspace = await this.repository.findWorkspace(workspaceId);
    if (!workspace) throw new NotFoundException('workspace not found');
    return { id: workspace.id, name: workspace.name };
  }

  async findByName(name: string): Promise<WorkspaceView | null> {
    const workspace = await this.repository.findWorkspaceByName(name);
    return workspace && { id: workspace.id, name: workspace.name };
  }

  async listSources(workspaceId: string, page: PageRequest = {}): Promise<Page<SourceView>> {
    const limit = page.limit ?? DEFAULT_PAGE_SIZE;
    const after = page.cursor === undefined ? undefined : decodeCreatedCursor(page.cursor);
    const rows = await this.repository.listSources(workspaceId, limit + 1, after);
    return pageFrom(rows, limit, encodeCreatedCursor, toSourceView);
  }

  async createSource(workspaceId: string, name: string, validation?: SourceValidation): Promise<SourceView> {
    return toSourceView(await this.repository.createSource(workspaceId, name, newWriteKey(), validation));
  }

  /** Takes effect on tracking calls within SOURCE_CACHE_TTL_MS (the write key cache). */
  async updateSource(workspaceId: string, sourceId: string, changes: SourceChanges): Promise<SourceView> {
    const source = await this.repository.updateSource(workspaceId, sourceId, changes);
    if (!source) throw new NotFoundException('source not found');
    return toSourceView(source);
  }
}

function toSourceView(source: SourceRow): SourceView {
  return { id: source.id, name: source.name, writeKey: source.writeKey, validation: source.validation };
}
