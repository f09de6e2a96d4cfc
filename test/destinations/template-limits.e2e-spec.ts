import { waitFor } from '../support/wait-for';
import { SmtpTestServer } from './support/smtp-test-server';
import { Testbed } from './support/testbed';

const EMAIL = { from: 'Acme <hello@acme.test>', subject: 'Hi' };

describe('email template limits', () => {
  let smtp: SmtpTestServer;
  let bed: Testbed;

  beforeAll(async () => {
    smtp = await SmtpTestServer.start();
    bed = await Testbed.start({ SMTP_URL: smtp.url }, [() => smtp.close()]);
  });

  afterAll(() => bed.close());

  it.each([
    ['html', '{% for i in (1..1000) %}{% for j in (1..1000) %}<b>{{ j }}</b>{% endfor %}{% endfor %}'],
    [
      'text',
      '{% for i in (1..300) %}{% for j in (1..300) %}{% for k in (1..300) %}.{% endfor %}{% endfor %}{% endfor %}',
    ],
    ['html', '{% assign s = "x" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}'],
    ['subject', '{{ (1..5000000) | join: "," }}'],
  ])('refuses a %s template that exceeds the limits on a sample render', async (field, template) => {
    const response = await bed.api
      .post('/api/destinations')
      .send({ type: 'email', name: 'x', config: { ...EMAIL, html: '<p>Hi</p>', [field]: template } })
      .expect(400);
    expect(response.body.errors).toEqual([
      { field: `config.${field}`, reason: expect.stringMatching(/^fails on a sample render: .*limit exceeded/) },
    ]);
  });

  it('keeps answering /health while slow templates render, and fails those renders at their limit', async () => {
    const { seed, ws, api, app } = bed;
    // Fine for the sample profile (no items), far too slow for these profiles: 3000² iterations.
    const slow = '{% for a in traits.items %}{% for b in traits.items %}{{ b }}{% endfor %}{% endfor %}';
    const destinationId = await api.createEmail({ ...EMAIL, html: slow });
    const audienceId = await seed.audience(ws.workspaceId, 'slow-template');
    await api.connect(audienceId, destinationId);
    const items = Array.from({ length: 3_000 }, (_, i) => i);
    const deliveries = 12;
    for (let i = 0; i < deliveries; i++) {
      const profile = await seed.profile(ws.workspaceId, { email: `slow${i}@example.test`, items });
      await seed.transition(ws.workspaceId, audienceId, profile, 'entered', new Date());
    }
    // Renders of a whole job start together; /health is asked again as soon as it answers.
    let answers = 0;
    let done = false;
    const finished = waitFor(
      async () => ((await seed.statusCounts(destinationId)).dead ?? 0) === deliveries || undefined,
      { what: 'every slow render to fail', timeoutMs: 60_000 },
    ).finally(() => {
      done = true;
    });
    await seed.enqueue((await seed.deliveries(destinationId)).map((d) => ({ id: d.id, destinationId })));
    const polling = (async () => {
      while (!done) {
        const response = await app.http().get('/health');
        expect(response.status).toBe(200);
        answers += 1;
      }
    })();
    await finished;
    await polling;
    // Rendered on the event loop, each render would hold /health for its whole time limit and the
    // dozen renders of the job would run back to back: a handful of answers at most. Off the loop,
    // /health answers many times per render even on a machine busy with other work.
    expect(answers).toBeGreaterThan(deliveries);
    const rows = await seed.deliveries(destinationId);
    expect(
      rows.every((row) => /^template: (template render|memory alloc) limit exceeded/.test(row.last_error ?? '')),
    ).toBe(true);
    expect(smtp.accepted).toHaveLength(0);
  });
});
