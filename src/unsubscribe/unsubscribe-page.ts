/** The small pages a recipient sees; every interpolated value is escaped. */

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** a***@example.com: enough for people to recognise their address, not enough to read it off a screen. */
export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export function confirmPage(email: string, sender: string): string {
  return page(
    'Unsubscribe',
    `<p>Stop emails from <strong>${escapeHtml(sender)}</strong> to <strong>${escapeHtml(maskEmail(email))}</strong>?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );
}

export function donePage(email: string, sender: string): string {
  return page(
    'You are unsubscribed',
    `<p><strong>${escapeHtml(maskEmail(email))}</strong> will receive no more emails from <strong>${escapeHtml(sender)}</strong>.</p>`,
  );
}

export function invalidLinkPage(): string {
  return page('This link is not valid', '<p>The unsubscribe link is incomplete or was not issued by this service.</p>');
}
