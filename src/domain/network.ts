// Limits see an IPv6 client as its /64, since one host usually holds a whole /64
// and could otherwise rotate addresses to dodge a limit (SECURITY.md, abuse).
import { isIPv4, isIPv6 } from 'node:net';

function expandIPv6(address: string): string[] | null {
  const [head = '', tail] = address.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headParts.length - tailParts.length;
  if (tail === undefined && missing !== 0) return null;
  const parts = [...headParts, ...Array<string>(Math.max(missing, 0)).fill('0'), ...tailParts];
  return parts.length === 8 ? parts.map((part) => part.padStart(4, '0').toLowerCase()) : null;
}

/** The key a per-address limit counts under: IPv4 as is, IPv6 as its /64. */
export function limitKeyForAddress(address: string | null | undefined): string {
  if (!address) return 'unknown';
  const zoneless = address.split('%')[0] ?? address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(zoneless);
  if (mapped) return mapped[1]!;
  if (isIPv4(zoneless)) return zoneless;
  if (isIPv6(zoneless)) {
    const parts = expandIPv6(zoneless);
    if (parts) return `${parts.slice(0, 4).join(':')}::/64`;
  }
  return zoneless;
}

/** The network a "known computer" is matched on: IPv4 /24, IPv6 /64 (DESIGN.md row 11). */
export function networkOf(address: string | null | undefined): string | null {
  if (!address) return null;
  const key = limitKeyForAddress(address);
  if (isIPv4(key)) return `${key.split('.').slice(0, 3).join('.')}.0/24`;
  return key;
}
