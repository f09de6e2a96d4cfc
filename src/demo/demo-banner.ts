import { AppConfig } from '../config/app-config';
import { devMailSinkEnabled, devMailSinkUrl } from '../destinations/dev-mail-sink';
import type { DemoAccess } from './demo.service';

const thousands = (n: number): string => n.toLocaleString('en-US');

type Row = [label: string, value: string, note?: string];

/** Rows of label, value and note, the notes aligned after the longest value of the block. */
function block(rows: readonly Row[]): string[] {
  const width = Math.max(...rows.filter(([, , note]) => note !== undefined).map(([, value]) => value.length), 0);
  return rows.map(([label, value, note]) =>
    `  ${label.padEnd(13)} ${note === undefined ? value : `${value.padEnd(width)}  ${note}`}`.trimEnd(),
  );
}

function dataLine(demo: DemoAccess): string {
  const size = `${thousands(demo.data.profiles)} people, ${thousands(demo.data.events)} events`;
  return demo.data.loadedNow
    ? `${size} over the last 3 months (loaded now)`
    : `${size} (loaded ${demo.data.loadedAt.toISOString().slice(0, 10)})`;
}

function emailLine(demo: DemoAccess): string {
  if (demo.emails.length === 0) return 'none: SMTP_URL is set, and demo addresses never go to a real server';
  const when = demo.data.loadedNow ? 'now (see Caught email)' : 'on entering';
  return `${demo.emails.join(', ')}: one email to each member with an address, ${when}`;
}

/**
 * The last thing the quick start prints: everything needed to log in anywhere and try the demo,
 * so nobody has to scroll back through the log or open .env.
 */
export function demoBanner(config: AppConfig, demo: DemoAccess): string {
  const url = config.publicUrl;
  const writeKey = demo.writeKey ?? '(the Demo workspace has no source)';
  const lines = [
    '',
    `Personae is ready, with a Demo workspace (${demo.workspace.id})`,
    '',
    ...block([
      ['API', url],
      ['API docs', `${url}/docs`],
      ['Health', `${url}/health`],
      ['Queues', `${url}/admin/queues`, 'user admin, password: the admin token'],
      ...(devMailSinkEnabled(config)
        ? [['Caught email', `${url}/dev/mail`, `local SMTP sink on ${devMailSinkUrl(config)}`] satisfies Row]
        : []),
    ]),
    '',
    ...block([
      ['Admin token', config.ADMIN_TOKEN, 'POST /api/workspaces, the queue dashboard'],
      ['Write key', writeKey, 'tracking calls: HTTP Basic user name'],
      ['API token', demo.apiToken, 'management API: Authorization: Bearer'],
    ]),
    '',
    ...block([
      ['Demo data', dataLine(demo)],
      ...demo.audiences.map(({ key, description }, index): Row => [index === 0 ? 'Audiences' : '', key, description]),
      ['Emails', emailLine(demo)],
    ]),
    '',
    'Try it (the docs use these variables):',
    `  export PERSONAE=${url} API_TOKEN=${demo.apiToken} WRITE_KEY=${writeKey} ADMIN_TOKEN=${config.ADMIN_TOKEN}`,
    `  curl -H "authorization: Bearer $API_TOKEN" $PERSONAE/api/audiences`,
    `  curl -u "$WRITE_KEY:" -H 'content-type: application/json' -d '{"userId":"u1","event":"Signed Up"}' $PERSONAE/v1/track`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}
