import type { Personae } from '../app.factory';
import { WorkspacesService } from '../workspaces/workspaces.service';

const DEMO_WORKSPACE = 'Demo';

/**
 * Makes sure a "Demo" workspace exists and prints how to use it. API tokens are stored hashed,
 * so every start mints a fresh token to print; earlier ones stay valid.
 */
export async function seedDemo(personae: Personae): Promise<void> {
  const workspaces = personae.app.get(WorkspacesService);
  const existing = await workspaces.findByName(DEMO_WORKSPACE);
  const created = existing ? undefined : await workspaces.create(DEMO_WORKSPACE, 'Demo app');
  const workspace = created?.workspace ?? existing!;
  const apiToken = created?.apiToken ?? (await workspaces.issueApiToken(workspace.id, 'Demo start'));
  const [source] = created ? [created.source] : await workspaces.listSources(workspace.id);
  const url = personae.config.publicUrl;
  const lines = [
    '',
    'Personae demo workspace is ready',
    `  API            ${url}`,
    `  API docs       ${url}/docs`,
    `  Health         ${url}/health`,
    `  Queues         ${url}/admin/queues   (user: admin, password: ADMIN_TOKEN)`,
    ...(personae.config.SMTP_URL ? [] : [`  Caught email   ${url}/dev/mail   (local SMTP sink on 127.0.0.1:1025)`]),
    `  Workspace      ${workspace.name} (${workspace.id})`,
    `  Write key      ${source?.writeKey ?? '(no source)'}`,
    `  API token      ${apiToken}`,
    '',
    'Try:',
    `  curl -u '${source?.writeKey ?? ''}:' -H 'content-type: application/json' \\`,
    `    -d '{"userId":"u1","event":"Signed Up"}' ${url}/v1/track`,
    `  curl -H 'authorization: Bearer ${apiToken}' ${url}/api/workspace`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
