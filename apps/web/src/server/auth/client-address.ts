/**
 * Which address a request comes from, for the per-client sign-in limit.
 *
 * `X-Forwarded-For` is a list anyone can write to; only its right end is known: the console's own HTTP server
 * (scripts/server.mjs) appends the TCP peer, as every proxy does. So the client is the right-most address
 * that is not one of the configured trusted proxies: with none configured, the TCP peer itself, whatever the
 * client wrote in front of it; behind a trusted proxy, the address that proxy saw.
 */
import { BlockList, isIP } from 'node:net';

/** The header better-auth reads the resolved client address from (set by `withClientAddress` only). */
export const CLIENT_ADDRESS_HEADER = 'x-lovage-client-address';

function plain(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** Adds a proxy list entry (`10.0.0.2`, `10.0.0.0/8`, `fd00::/8`); false when it is neither an address nor a range. */
function addEntry(list: BlockList, entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(plain(address));
  if (family === 0 || extra !== undefined) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) {
    list.addAddress(plain(address), type);
    return true;
  }
  const bits = /^\d+$/.test(prefix) ? Number(prefix) : NaN;
  if (!(bits <= (family === 4 ? 32 : 128))) return false;
  list.addSubnet(plain(address), bits, type);
  return true;
}

/** The entries of a trusted-proxy list that are neither an IP address nor a CIDR range. */
export function invalidProxyEntries(entries: readonly string[]): string[] {
  const scratch = new BlockList();
  return entries.filter((entry) => !addEntry(scratch, entry));
}

/** Resolves client addresses against one trusted-proxy list (IP addresses and CIDR ranges). */
export function clientAddressResolver(trustedProxies: readonly string[]) {
  const proxies = new BlockList();
  for (const entry of trustedProxies) addEntry(proxies, entry);
  const trusted = (address: string) => proxies.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  /**
   * The right-most address of `forwardedFor` that is not a trusted proxy; null when the header is missing, or
   * when the hop to decide on is not an IP address (nothing believable is left).
   */
  return (forwardedFor: string | null): string | null => {
    const hops = (forwardedFor ?? '')
      .split(',')
      .map((hop) => plain(hop.trim()))
      .filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) return null;
      if (!trusted(hop)) return hop;
    }
    return null;
  };
}

/** The request with its resolved client address in `CLIENT_ADDRESS_HEADER` (any value the client sent is dropped). */
export function withClientAddress(
  request: Request,
  resolve: (forwardedFor: string | null) => string | null,
): Request {
  const headers = new Headers(request.headers);
  headers.delete(CLIENT_ADDRESS_HEADER);
  const address = resolve(headers.get('x-forwarded-for'));
  if (address) headers.set(CLIENT_ADDRESS_HEADER, address);
  return new Request(request, { headers });
}
