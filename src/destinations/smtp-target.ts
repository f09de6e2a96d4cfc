import type { EmailConfig, SmtpAuth } from './destination-config';

/** Where an email destination connects, read the same way for checking and for sending. */
export interface SmtpTarget {
  /** A host name, or an address without brackets. */
  host: string;
  port: number;
  /** TLS from the first byte (smtps, port 465). */
  secure: boolean;
  /** STARTTLS or nothing: never falls back to plaintext. */
  requireTLS: boolean;
  auth?: SmtpAuth;
  /** The config field holding the credentials, for error messages. */
  authField: 'config.auth' | 'config.smtpUrl';
}

/** Query options an smtpUrl may carry; anything else (proxy, localAddress, tls.*) is refused. */
export const SMTP_URL_OPTIONS = ['requireTLS'];

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The destination's own SMTP server, or undefined when it uses the server's SMTP_URL. Reads an
 * smtpUrl itself rather than handing it to nodemailer, whose URL options could name a proxy or
 * a local address to connect from.
 */
export function smtpTarget(
  config: Pick<EmailConfig, 'smtpUrl' | 'host' | 'port' | 'secure' | 'auth' | 'requireTLS'>,
): SmtpTarget | undefined {
  if (config.smtpUrl) {
    const url = new URL(config.smtpUrl);
    const secure = url.protocol === 'smtps:';
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    return {
      host: stripBrackets(url.hostname),
      port: url.port ? Number(url.port) : secure ? 465 : 587,
      secure,
      requireTLS: url.searchParams.get('requireTLS') === 'true',
      ...((user || pass) && { auth: { user, pass } }),
      authField: 'config.smtpUrl',
    };
  }
  if (!config.host) return undefined;
  const port = config.port ?? (config.secure ? 465 : 587);
  return {
    host: stripBrackets(config.host),
    port,
    // nodemailer's own default: port 465 without `secure` means TLS from the start.
    secure: config.secure ?? port === 465,
    requireTLS: config.requireTLS === true,
    ...(config.auth && { auth: config.auth }),
    authField: 'config.auth',
  };
}

/** Whether credentials sent to this target travel inside TLS. */
export function usesTls(target: SmtpTarget): boolean {
  return target.secure || target.requireTLS;
}

/** What identifies the server a destination connects to: a change of it needs the secrets again. */
export function smtpEndpoint(config: Parameters<typeof smtpTarget>[0]): string {
  const target = smtpTarget(config);
  return target ? `${target.host.toLowerCase()}:${target.port}` : 'server default';
}
