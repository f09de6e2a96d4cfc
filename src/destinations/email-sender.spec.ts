import { classifySmtpError } from './email-sender';

describe('classifySmtpError', () => {
  it('retries 4xx and connection errors, gives up on 5xx, bounces refused recipients', () => {
    expect(classifySmtpError({ responseCode: 451, response: '451 later', permanent: false }).kind).toBe('transient');
    expect(classifySmtpError({ code: 'ECONNECTION', message: 'closed' }).kind).toBe('transient');
    expect(classifySmtpError({ code: 'EAUTH', responseCode: 535, permanent: true }).kind).toBe('transient');
    expect(classifySmtpError({ code: 'EMESSAGE', responseCode: 554, permanent: true, command: 'DATA' })).toMatchObject({
      kind: 'permanent',
      bounce: false,
    });
    expect(
      classifySmtpError({ code: 'EENVELOPE', responseCode: 550, permanent: true, command: 'RCPT TO' }),
    ).toMatchObject({
      kind: 'permanent',
      bounce: true,
    });
  });
});
