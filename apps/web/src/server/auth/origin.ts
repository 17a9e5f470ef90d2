/**
 * CSRF defence for the console's mutations (better-auth guards its own routes the same way): a state-changing
 * request must come from a page of the console itself. Browsers always send `Origin` on POST; when a
 * proxy strips it, Fetch Metadata's `Sec-Fetch-Site: same-origin` is accepted instead. Anything else,
 * a foreign or `null` origin, or neither header, is refused. Cookies are also SameSite=Lax.
 *
 * Returns why the request is refused, or null when it is fine.
 */
export function refuseCrossOrigin(headers: Headers, trustedOrigins: readonly string[]): string | null {
  const origin = headers.get('origin');
  if (origin !== null) {
    return trustedOrigins.includes(origin) ? null : `requests from origin ${origin} are not allowed`;
  }
  const site = headers.get('sec-fetch-site');
  if (site !== null) return site === 'same-origin' ? null : `cross-site requests (${site}) are not allowed`;
  return 'the request has no Origin header';
}
