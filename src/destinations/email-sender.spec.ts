import { classifySmtpError, smtpOptions } from './email-sender';

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

describe('smtpOptions', () => {
  const base = { from: 'a@b.test', subject: 's', text: 't' };

  it('connects to the checked address and keeps the name for TLS', () => {
    const options = smtpOptions(
      { ...base, smtpUrl: 'smtps://u:p%40ss@smtp.example.test?requireTLS=true' },
      undefined,
      '93.184.216.34',
    );
    expect(options).toMatchObject({
      host: '93.184.216.34',
      port: 465,
      secure: true,
      requireTLS: true,
      auth: { user: 'u', pass: 'p@ss' },
      tls: { servername: 'smtp.example.test' },
    });
    expect(options).not.toHaveProperty('url');
  });

  it('uses the operator SMTP_URL as written when the destination has no server', () => {
    expect(smtpOptions(base, 'smtp://relay.internal:25?tls.rejectUnauthorized=false')).toMatchObject({
      url: 'smtp://relay.internal:25?tls.rejectUnauthorized=false',
    });
    expect(smtpOptions({ ...base, host: '127.0.0.1', port: 2525 }, undefined, '127.0.0.1')).not.toHaveProperty('tls');
  });
});
