import { renderEmailTemplates, type TemplateScope } from './templates';

const scope: TemplateScope = {
  profile: { id: 'p1', traits: {}, identities: [] },
  traits: {},
  computed: {},
  identities: {},
  email: 'ada@example.test',
  audience: { id: 'a1', key: 'vip', name: 'VIP' },
  account: null,
  transition: { kind: 'entered', at: '2026-01-01T00:00:00.000Z' },
  unsubscribe_url: 'https://crm.example.test/u/t',
};

describe('renderEmailTemplates', () => {
  it('names the template that failed, and lets a sample render do without traits', () => {
    const templates = { subject: 'Hi {{ traits.name }}', text: 'x' };
    expect(renderEmailTemplates(templates, scope)).toEqual({
      ok: false,
      field: 'subject',
      reason: expect.stringContaining('undefined variable: traits.name'),
    });
    expect(renderEmailTemplates(templates, scope, { renderLimitMs: 250, sample: true })).toEqual({
      ok: true,
      rendered: { subject: 'Hi ', text: 'x' },
    });
  });

  it('stops a render at its limits', () => {
    const loop = '{% for i in (1..2000) %}{% for j in (1..2000) %}.{% endfor %}{% endfor %}';
    expect(renderEmailTemplates({ subject: 's', html: loop }, scope, { renderLimitMs: 50 })).toEqual({
      ok: false,
      field: 'html',
      reason: expect.stringMatching(/(template render|memory alloc) limit exceeded/),
    });
  });
});
