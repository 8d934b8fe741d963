// Which addresses an outgoing call (back-channel logout, webhooks) may reach. An
// account admin types the URL, so without this rule an admin could make Tessera
// probe the operator's internal network or a cloud metadata service (SECURITY.md,
// "Other apps": SSRF). Only globally reachable unicast addresses pass, unless the
// operator allowed a range with TESSERA_OUTBOUND_ALLOW. The ranges come from the
// IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890).
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

export interface IpRange {
  family: IpFamily;
  /** The network address: no bits set past the prefix. */
  bytes: Uint8Array;
  prefixLength: number;
}

function parseIPv4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

/** Expects a valid IPv6 address without a zone (isIPv6 said so). */
function parseIPv6Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let groups = text;
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    bytes.set(parseIPv4Bytes(dotted[1]!), 12);
    // Stands in for the two groups the dotted quad fills, kept out of the count below.
    groups = `${text.slice(0, dotted.index)}:0:0`;
  }
  const [head = '', tail] = groups.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const all = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  all.forEach((group, index) => {
    if (dotted && index >= 6) return;
    const value = parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  });
  return bytes;
}

/** An IPv4 address in dotted decimal or an IPv6 address (a zone, `%eth0`, is dropped);
 * null for anything else, host names included. */
export function parseIpAddress(text: string): IpAddress | null {
  if (isIPv4(text)) return { family: 4, bytes: parseIPv4Bytes(text) };
  const zoneless = text.split('%')[0] ?? text;
  if (isIPv6(zoneless)) return { family: 6, bytes: parseIPv6Bytes(zoneless) };
  return null;
}

export function formatIpAddress(address: IpAddress): string {
  if (address.family === 4) return address.bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((address.bytes[i]! << 8) | address.bytes[i + 1]!).toString(16));
  // The longest run of two or more zero groups becomes `::` (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start += 1) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === '0') length += 1;
    if (length > bestLength) [bestStart, bestLength] = [start, length];
  }
  if (bestStart === -1) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

export function formatIpRange(range: IpRange): string {
  return `${formatIpAddress(range)}/${range.prefixLength}`;
}

export function inIpRange(address: IpAddress, range: IpRange): boolean {
  if (address.family !== range.family) return false;
  const fullBytes = Math.floor(range.prefixLength / 8);
  for (let i = 0; i < fullBytes; i += 1) if (address.bytes[i] !== range.bytes[i]) return false;
  const restBits = range.prefixLength % 8;
  if (restBits === 0) return true;
  const mask = (0xff << (8 - restBits)) & 0xff;
  return (address.bytes[fullBytes]! & mask) === range.bytes[fullBytes];
}

/** `10.0.0.0/8`, `fd00::/8`, or a single address (`192.0.2.7` stands for /32, `::1` for
 * /128). Strict: a range with bits set past its prefix (`10.1.2.3/8`) is refused rather
 * than silently widened, since it is usually a typo for something narrower. */
export function parseIpRange(text: string): { ok: true; range: IpRange } | { ok: false; reason: string } {
  const match = /^([^/\s]+?)(?:\/(\d{1,3}))?$/.exec(text);
  const address = match ? parseIpAddress(match[1]!) : null;
  if (!match || !address || match[1]!.includes('%')) {
    return { ok: false, reason: 'is not an IPv4 or IPv6 address or range (like 10.0.0.0/8 or fd00::/8)' };
  }
  const maxLength = address.family === 4 ? 32 : 128;
  const prefixLength = match[2] === undefined ? maxLength : Number(match[2]);
  if (prefixLength > maxLength || (match[2] !== undefined && match[2].length > 1 && match[2].startsWith('0'))) {
    return { ok: false, reason: `has a prefix length that is not a number from 0 to ${maxLength}` };
  }
  const range: IpRange = { family: address.family, bytes: address.bytes, prefixLength };
  const network = networkAddress(range);
  if (!network.bytes.every((byte, i) => byte === range.bytes[i])) {
    return { ok: false, reason: `has bits set past its /${prefixLength} prefix: did you mean ${formatIpRange(network)}?` };
  }
  if (address.family === 6 && prefixLength >= 96 && inIpRange(address, IPV4_MAPPED)) {
    return { ok: false, reason: 'is an IPv4-mapped IPv6 range: write it as IPv4 (IPv4-mapped addresses are checked as IPv4)' };
  }
  return { ok: true, range };
}

function networkAddress(range: IpRange): IpRange {
  const bytes = Uint8Array.from(range.bytes, (byte, i) => {
    const bitsInThisByte = Math.min(Math.max(range.prefixLength - i * 8, 0), 8);
    return byte & ((0xff << (8 - bitsInThisByte)) & 0xff);
  });
  return { ...range, bytes };
}

function range(text: string): IpRange {
  const parsed = parseIpRange(text);
  if (!parsed.ok) throw new Error(`bad built-in range ${text}`);
  return parsed.range;
}

/** ::ffff:0:0/96 (RFC 4291 §2.5.5.2): the IPv4 address in its last 32 bits is the one reached. */
const IPV4_MAPPED: IpRange = { family: 6, bytes: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]), prefixLength: 96 };
/** 64:ff9b::/96, the NAT64 well-known prefix (RFC 6052 §2.1): a DNS64 resolver answers it
 * for IPv4-only names, and the translator reaches the IPv4 address in its last 32 bits. */
const NAT64_WELL_KNOWN = range('64:ff9b::/96');

interface SpecialRange {
  range: IpRange;
  what: string;
  /** Never a server (no TESSERA_OUTBOUND_ALLOW entry lets a call go there): on Linux a
   * connection to 0.0.0.0 or :: reaches the machine itself. */
  never?: boolean;
}

const special = (text: string, what: string, never = false): SpecialRange => ({ range: range(text), what, never });

const SPECIAL_IPV4: readonly SpecialRange[] = [
  special('0.0.0.0/8', '"this network" (RFC 791), which reaches the machine itself', true),
  special('10.0.0.0/8', 'a private address (RFC 1918)'),
  special('100.64.0.0/10', 'a carrier-grade NAT address (RFC 6598)'),
  special('127.0.0.0/8', 'a loopback address (RFC 1122)'),
  special('169.254.0.0/16', 'a link-local address (RFC 3927), where cloud metadata services live'),
  special('172.16.0.0/12', 'a private address (RFC 1918)'),
  special('192.0.0.0/24', 'an IETF protocol assignment (RFC 6890)'),
  special('192.0.2.0/24', 'a documentation address (RFC 5737)'),
  special('192.88.99.0/24', 'a 6to4 relay address (RFC 7526)'),
  special('192.168.0.0/16', 'a private address (RFC 1918)'),
  special('198.18.0.0/15', 'a benchmarking address (RFC 2544)'),
  special('198.51.100.0/24', 'a documentation address (RFC 5737)'),
  special('203.0.113.0/24', 'a documentation address (RFC 5737)'),
  special('224.0.0.0/4', 'a multicast address (RFC 5771)', true),
  special('255.255.255.255/32', 'the broadcast address (RFC 919)', true),
  special('240.0.0.0/4', 'a reserved address (RFC 1112)', true),
];

const SPECIAL_IPV6: readonly SpecialRange[] = [
  special('::/128', 'the unspecified address (RFC 4291), which reaches the machine itself', true),
  special('::1/128', 'a loopback address (RFC 4291)'),
  special('ff00::/8', 'a multicast address (RFC 4291)', true),
  special('fe80::/10', 'a link-local address (RFC 4291)'),
  special('fec0::/10', 'a site-local address (RFC 3879)'),
  special('fc00::/7', 'a unique local (private) address (RFC 4193)'),
  special('64:ff9b:1::/48', 'a local-use NAT64 address (RFC 8215)'),
  special('100::/64', 'a discard-only address (RFC 6666)'),
  special('2001::/23', 'an IETF protocol assignment (RFC 2928), Teredo tunnels included'),
  special('2001:db8::/32', 'a documentation address (RFC 3849)'),
  special('2002::/16', 'a 6to4 address (RFC 3056), which hides an IPv4 address'),
  special('3fff::/20', 'a documentation address (RFC 9637)'),
  special('5f00::/16', 'a segment routing address (RFC 9602)'),
];

/** Global unicast (RFC 4291 §2.4): every public IPv6 address lies in it. */
const GLOBAL_UNICAST_IPV6 = range('2000::/3');

export type OutboundVerdict =
  | { allowed: true }
  /** `what` names the kind of address ("a loopback address (RFC 1122)"), never the
   * address; `allowable` says whether TESSERA_OUTBOUND_ALLOW could let it through. */
  | { allowed: false; what: string; allowable: boolean };

/** The IPv4 address an IPv6 one stands for (IPv4-mapped, NAT64), or the address itself. */
function addressReached(address: IpAddress): IpAddress {
  if (address.family === 6 && (inIpRange(address, IPV4_MAPPED) || inIpRange(address, NAT64_WELL_KNOWN))) {
    return { family: 4, bytes: address.bytes.slice(12) };
  }
  return address;
}

/** Whether an outgoing call may connect to this address, given the operator's allowed ranges. */
export function checkOutboundAddress(address: IpAddress, allowed: readonly IpRange[]): OutboundVerdict {
  const reached = addressReached(address);
  const form = reached === address ? '' : inIpRange(address, IPV4_MAPPED) ? ', written as an IPv4-mapped IPv6 address' : ', reached through NAT64';
  const specialRange = (reached.family === 4 ? SPECIAL_IPV4 : SPECIAL_IPV6).find((entry) => inIpRange(reached, entry.range));
  const refusal: { what: string; never: boolean } | null = specialRange
    ? { what: specialRange.what, never: specialRange.never ?? false }
    : reached.family === 6 && !inIpRange(reached, GLOBAL_UNICAST_IPV6)
      ? { what: 'not a global unicast address (RFC 4291)', never: false }
      : null;
  if (!refusal) return { allowed: true };
  if (!refusal.never && allowed.some((entry) => inIpRange(reached, entry))) return { allowed: true };
  return { allowed: false, what: `${refusal.what}${form}`, allowable: !refusal.never };
}
