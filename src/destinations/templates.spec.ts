import { headerSafe, renderTemplate, TemplateError, TemplateScope } from './templates';

const scope: TemplateScope = {
  profile: { id: 'p1', traits: { name: '<Ada>' }, identities: [] },
  traits: { name: '<Ada>' },
  computed: { logins_7d: 4 },
  identities: {},
  email: 'ada@example.test',
  audience: { id: 'a1', key: 'vip', name: 'VIP' },
  account: null,
  transition: { kind: 'entered', at: '2026-01-01T00:00:00.000Z' },
  unsubscribe_url: 'https://crm.example.test/u/t',
};

describe('renderTemplate', () => {
  it('renders synchronously, escaping HTML bodies and not text ones', () => {
    expect(renderTemplate('<p>Hi {{ traits.name }}</p>', 'html', scope)).toBe('<p>Hi &lt;Ada&gt;</p>');
    expect(renderTemplate('Hi {{ traits.name }} ({{ audience.name }})', 'text', scope)).toBe('Hi <Ada> (VIP)');
  });

  it('reads computed trait values by key', () => {
    expect(renderTemplate('{{ computed.logins_7d }} logins', 'text', scope)).toBe('4 logins');
    expect(() => renderTemplate('{{ computed.missing }}', 'text', scope)).toThrow(TemplateError);
  });

  it('fails on a variable the profile lacks unless the template gives a default', () => {
    expect(() => renderTemplate('Hi {{ traits.first_name }}', 'text', scope)).toThrow(TemplateError);
    expect(renderTemplate('Hi {{ traits.first_name | default: "there" }}', 'text', scope)).toBe('Hi there');
  });

  it('charges each render only its own time against the render time limit', async () => {
    // Deliveries of a batch are rendered side by side. An async render interleaved with the others
    // started with it, and Liquid's limit (1 s) counts wall time: past a second of rendering in
    // all, every one of them failed (all 600 here).
    const loop = `{% for i in (1..200) %}{{ traits.name }}{% endfor %}`;
    const bodies = await Promise.all(Array.from({ length: 600 }, async () => renderTemplate(loop, 'text', scope)));
    expect(bodies.every((body) => body === '<Ada>'.repeat(200))).toBe(true);
  });
});

describe('headerSafe', () => {
  it('turns line breaks a trait smuggled into the subject into spaces', () => {
    expect(headerSafe('Hi\r\nBcc: x@example.test')).toBe('Hi Bcc: x@example.test');
  });
});
