import { Client } from 'pg';

import { AUDIENCE_LOCK_CLASS } from '../../src/database/audience-lock';
import { waitFor } from '../support/wait-for';
import { Testbed } from './support/testbed';

const TEMPLATE = { from: 'Acme <hello@acme.test>', subject: 'Hi', text: 'Hi {{ traits.name }}' };

/**
 * A computation of the audience in flight, as the membership engine runs it: its transaction holds
 * the audience's lock and has written members and their `entered` rows, not yet committed.
 */
async function computationInFlight(url: string, workspaceId: string, audienceId: string, profileIds: string[]) {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [AUDIENCE_LOCK_CLASS, audienceId]);
  for (const profileId of profileIds) {
    await client.query(`INSERT INTO audience_members (audience_id, profile_id, entered_at) VALUES ($1, $2, now())`, [
      audienceId,
      profileId,
    ]);
    await client.query(
      `INSERT INTO audience_transitions (workspace_id, audience_id, profile_id, kind, at, audience_version)
       VALUES ($1, $2, $3, 'entered', now() - interval '1 second', 1)`,
      [workspaceId, audienceId, profileId],
    );
  }
  return {
    commit: async () => {
      await client.query('COMMIT');
      await client.end();
    },
    rollback: async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    },
  };
}

describe('connecting with backfill while the audience is being computed', () => {
  let bed: Testbed;

  beforeAll(async () => {
    bed = await Testbed.start({ BACKFILL_WAIT_MS: '1500' });
  });
  afterAll(() => bed?.close());

  it('waits for the computation and backfills the members it wrote', async () => {
    const { seed, ws, api, app } = bed;
    const audienceId = await seed.audience(ws.workspaceId, 'first-computation');
    const people = [
      await seed.profile(ws.workspaceId, { email: 'one@example.test', name: 'One' }),
      await seed.profile(ws.workspaceId, { email: 'two@example.test', name: 'Two' }),
    ];
    const destinationId = await api.createEmail(TEMPLATE);
    const computation = await computationInFlight(app.database.url, ws.workspaceId, audienceId, people);
    let answered = false;
    const connecting = api.connect(audienceId, destinationId, true).finally(() => (answered = true));
    try {
      // The connection waits on the audience's lock, inside its own transaction.
      await waitFor(
        async () =>
          (
            await seed.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
            )
          )[0]?.n === 1,
        { what: 'the connection to wait for the computation' },
      );
      expect(answered).toBe(false);
    } finally {
      await computation.commit();
    }
    expect((await connecting).backfilled).toBe(2);
    const rows = await seed.deliveries(destinationId);
    expect(rows).toHaveLength(2);
  });

  it('answers 409 and connects nothing when the computation outlasts BACKFILL_WAIT_MS', async () => {
    const { seed, ws, api, app } = bed;
    const audienceId = await seed.audience(ws.workspaceId, 'long-computation');
    const person = await seed.profile(ws.workspaceId, { email: 'three@example.test', name: 'Three' });
    const destinationId = await api.createEmail(TEMPLATE);
    const computation = await computationInFlight(app.database.url, ws.workspaceId, audienceId, [person]);
    try {
      const response = await api
        .post(`/api/audiences/${audienceId}/destinations`)
        .send({ destinationId, backfill: true })
        .expect(409);
      expect(response.body.message).toMatch(/being computed \(waited 1500 ms/);
    } finally {
      await computation.rollback();
    }
    const list = await api.get(`/api/audiences/${audienceId}/destinations`).expect(200);
    expect(list.body.items).toEqual([]);
    expect(await seed.deliveries(destinationId)).toEqual([]);
  });
});
