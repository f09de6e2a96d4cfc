import type { ClaimedDelivery } from './delivery.repository';
import { slackBody, slackLine } from './slack-message';

function delivery(overrides: Partial<ClaimedDelivery>): ClaimedDelivery {
  return {
    id: 'd',
    workspaceId: 'ws',
    destinationId: 'dest',
    attempts: 1,
    kind: 'entered',
    at: new Date(0),
    audienceId: 'aud',
    audienceKey: 'at_risk',
    audienceName: 'Accounts <at risk>',
    destinationType: 'slack',
    config: {},
    destinationVersion: new Date(0),
    profileId: 'p-1',
    traits: {},
    identities: [],
    email: null,
    suppression: null,
    connected: true,
    account: null,
    journey: null,
    traitChange: null,
    computed: {},
    ...overrides,
  };
}

describe('slack lines', () => {
  it('names the person, the move and the audience, escaped', () => {
    expect(slackLine(delivery({ email: 'ann@example.com' }))).toBe(
      ':inbox_tray: *ann@example.com* entered *Accounts &lt;at risk&gt;* (`at_risk`)',
    );
    expect(slackLine(delivery({ kind: 'exited', identities: [{ type: 'user_id', value: 'u&1' }] }))).toBe(
      ':outbox_tray: *u&amp;1* left *Accounts &lt;at risk&gt;* (`at_risk`)',
    );
    expect(slackLine(delivery({}))).toContain('*profile p-1*');
  });

  it('groups transitions into one message, a line each', () => {
    const body = JSON.parse(slackBody([delivery({ email: 'a@x.io' }), delivery({ email: 'b@x.io' })])) as {
      text: string;
    };
    expect(body.text.split('\n')).toHaveLength(2);
  });
});
