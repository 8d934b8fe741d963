import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkOutboundAddress, formatIpAddress, formatIpRange, parseIpAddress, parseIpRange, type IpRange } from './outbound-addresses.js';

function ranges(...texts: string[]): IpRange[] {
  return texts.map((text) => {
    const parsed = parseIpRange(text);
    if (!parsed.ok) throw new Error(`${text} ${parsed.reason}`);
    return parsed.range;
  });
}

function verdict(address: string, allowed: IpRange[] = []): string {
  const parsed = parseIpAddress(address);
  if (!parsed) throw new Error(`not an address: ${address}`);
  const result = checkOutboundAddress(parsed, allowed);
  return result.allowed ? 'allowed' : `${result.allowable ? 'refused' : 'never'}: ${result.what}`;
}

describe('addresses an outgoing call may reach', () => {
  it('refuses every non-public kind of address, in every spelling, and names the kind', () => {
    for (const [address, expected] of [
      ['127.0.0.1', /^refused: a loopback address/],
      ['127.255.255.254', /^refused: a loopback address/],
      ['::1', /^refused: a loopback address/],
      ['10.1.2.3', /^refused: a private address \(RFC 1918\)/],
      ['172.16.0.1', /^refused: a private address/],
      ['172.31.255.255', /^refused: a private address/],
      ['192.168.1.1', /^refused: a private address/],
      ['169.254.169.254', /^refused: a link-local address .*cloud metadata/],
      ['100.64.0.1', /^refused: a carrier-grade NAT address/],
      ['100.100.100.200', /^refused: a carrier-grade NAT address/],
      ['fe80::1', /^refused: a link-local address/],
      ['fe80::1%eth0', /^refused: a link-local address/],
      ['fd00:ec2::254', /^refused: a unique local/],
      ['fc00::1', /^refused: a unique local/],
      ['fec0::1', /^refused: a site-local address/],
      ['192.0.0.170', /^refused: an IETF protocol assignment/],
      ['192.0.2.1', /^refused: a documentation address/],
      ['198.18.0.1', /^refused: a benchmarking address/],
      ['2001:db8::1', /^refused: a documentation address/],
      ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /^refused: an IETF protocol assignment .*Teredo/],
      ['2002:7f00:1::1', /^refused: a 6to4 address/],
      ['64:ff9b:1::a00:1', /^refused: a local-use NAT64 address/],
      ['::127.0.0.1', /^refused: not a global unicast address/],
      ['4000::1', /^refused: not a global unicast address/],
      // The IPv4 address inside an IPv6 one is the one reached.
      ['::ffff:127.0.0.1', /^refused: a loopback address \(RFC 1122\), written as an IPv4-mapped IPv6 address$/],
      ['::ffff:7f00:1', /^refused: a loopback address \(RFC 1122\), written as an IPv4-mapped/],
      ['::ffff:169.254.169.254', /^refused: a link-local address .*IPv4-mapped/],
      ['64:ff9b::10.0.0.1', /^refused: a private address \(RFC 1918\), reached through NAT64$/],
      ['64:ff9b::a9fe:a9fe', /^refused: a link-local address .*NAT64/],
      // Never a server, whatever the operator allows.
      ['0.0.0.0', /^never: "this network"/],
      ['0.1.2.3', /^never: "this network"/],
      ['::', /^never: the unspecified address/],
      ['::ffff:0.0.0.0', /^never: "this network"/],
      ['224.0.0.1', /^never: a multicast address/],
      ['239.255.255.250', /^never: a multicast address/],
      ['ff02::1', /^never: a multicast address/],
      ['255.255.255.255', /^never: the broadcast address/],
      ['240.0.0.1', /^never: a reserved address/],
    ] as const) {
      assert.match(verdict(address), expected, address);
    }
  });

  it('allows public addresses, IPv4-mapped and NAT64 forms of them included', () => {
    for (const address of [
      '8.8.8.8',
      '1.1.1.1',
      '93.184.215.14',
      '172.32.0.1',
      '100.128.0.1',
      '2606:4700:4700::1111',
      '2a00:1450:4001::200e',
      '::ffff:8.8.8.8',
      '64:ff9b::8.8.8.8',
    ]) {
      assert.equal(verdict(address), 'allowed', address);
    }
  });

  it("lets the operator's ranges through, and only those", () => {
    const allowed = ranges('127.0.0.0/8', '10.20.0.0/16', 'fd00::/8', '169.254.169.254');
    for (const [address, expected] of [
      ['127.0.0.1', 'allowed'],
      ['::ffff:127.0.0.1', 'allowed'],
      ['10.20.30.40', 'allowed'],
      ['64:ff9b::10.20.0.1', 'allowed'],
      ['fd12:3456::1', 'allowed'],
      ['169.254.169.254', 'allowed'],
      ['169.254.169.253', 'refused'],
      ['10.21.0.1', 'refused'],
      ['::1', 'refused'],
      ['fc00::1', 'refused'],
      ['192.168.0.1', 'refused'],
    ] as const) {
      assert.equal(verdict(address, allowed).split(':')[0], expected, address);
    }
    const everything = ranges('0.0.0.0/0', '::/0');
    assert.equal(verdict('192.168.0.1', everything), 'allowed');
    assert.equal(verdict('::1', everything), 'allowed');
    for (const address of ['0.0.0.0', '::', '224.0.0.1', '255.255.255.255', 'ff02::1']) assert.match(verdict(address, everything), /^never/, address);
  });

  it('reads addresses and ranges strictly', () => {
    for (const [text, expected] of [
      ['10.0.0.0/8', '10.0.0.0/8'],
      ['192.0.2.7', '192.0.2.7/32'],
      ['::1', '::1/128'],
      ['fd00::/8', 'fd00::/8'],
      ['2001:DB8:0:0::/64', '2001:db8::/64'],
      ['0.0.0.0/0', '0.0.0.0/0'],
      ['::/0', '::/0'],
      ['172.16.0.0/12', '172.16.0.0/12'],
    ] as const) {
      const parsed = parseIpRange(text);
      assert.ok(parsed.ok, text);
      assert.equal(formatIpRange(parsed.range), expected);
    }
    for (const [text, reason] of [
      ['10.1.2.3/8', /did you mean 10\.0\.0\.0\/8\?/],
      ['172.16.0.0/11', /did you mean 172\.0\.0\.0\/11\?/],
      ['2001:db8:1::/40', /did you mean 2001:db8::\/40\?/],
      ['10.0.0.0/33', /0 to 32/],
      ['::/129', /0 to 128/],
      ['10.0.0.0/08', /0 to 32/],
      ['10.0.0.0/', /not an IPv4 or IPv6 address/],
      ['10.0.0/8', /not an IPv4 or IPv6 address/],
      ['010.0.0.0/8', /not an IPv4 or IPv6 address/],
      ['localhost', /not an IPv4 or IPv6 address/],
      ['fe80::/10%eth0', /not an IPv4 or IPv6 address/],
      ['fe80::1%eth0', /not an IPv4 or IPv6 address/],
      ['::ffff:10.0.0.0/104', /write it as IPv4/],
      ['10.0.0.0/8/8', /not an IPv4 or IPv6 address/],
      ['', /not an IPv4 or IPv6 address/],
    ] as const) {
      const parsed = parseIpRange(text);
      assert.ok(!parsed.ok, text);
      assert.match(parsed.reason, reason, text);
    }
    assert.equal(parseIpAddress('example.com'), null);
    assert.equal(parseIpAddress('127.1'), null);
    assert.equal(formatIpAddress(parseIpAddress('1:0:0:2:0:0:0:3')!), '1:0:0:2::3');
    assert.equal(formatIpAddress(parseIpAddress('1:2:3:4:5:6:7:8')!), '1:2:3:4:5:6:7:8');
    assert.equal(formatIpAddress(parseIpAddress('1:2:3:4:5:6:1.2.3.4')!), '1:2:3:4:5:6:102:304');
  });
});
