import { AddressPolicy, literalAddress, parseNetworks } from './address-policy';
import { AddressRefusedError, assertLiteralAllowed, resolveAllowed } from './destination-address';

describe('AddressPolicy', () => {
  const strict = AddressPolicy.allowing('');
  const loopback = AddressPolicy.allowing('127.0.0.0/8,::1/128');

  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.100.100.200', 'carrier-grade NAT'],
    ['fd00:ec2::254', 'unique-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a00:1', 'translated'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['192.0.2.1', 'reserved'],
  ])('refuses %s (%s) by default', (address, kind) => {
    expect(strict.refusal(address)).toEqual(expect.stringContaining(kind));
  });

  it.each(['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '93.184.216.34'])(
    'allows the public address %s',
    (address) => {
      expect(strict.refusal(address)).toBeUndefined();
    },
  );

  it('allows what the operator allows, IPv4-mapped loopback included, and nothing more', () => {
    expect(loopback.refusal('127.0.0.1')).toBeUndefined();
    expect(loopback.refusal('127.9.9.9')).toBeUndefined();
    expect(loopback.refusal('::1')).toBeUndefined();
    expect(loopback.refusal('::ffff:127.0.0.1')).toBeUndefined();
    expect(loopback.refusal('10.0.0.1')).toBeDefined();
    expect(loopback.refusal('169.254.169.254')).toBeDefined();
    expect(loopback.isAllowedLoopback('127.0.0.1')).toBe(true);
    expect(strict.isAllowedLoopback('127.0.0.1')).toBe(false);
    expect(AddressPolicy.allowing('10.0.0.0/8').isAllowedLoopback('10.0.0.1')).toBe(false);
  });

  it('reads every way of writing an address that resolvers accept', () => {
    expect(literalAddress('2130706433')).toBe('127.0.0.1');
    expect(literalAddress('0x7f.1')).toBe('127.0.0.1');
    expect(literalAddress('017700000001')).toBe('127.0.0.1');
    expect(literalAddress('[::1]')).toBe('::1');
    expect(literalAddress('[::ffff:7f00:1]')).toBe('127.0.0.1');
    expect(literalAddress('smtp.example.com')).toBeUndefined();
    expect(() => assertLiteralAllowed('2130706433', strict)).toThrow(AddressRefusedError);
    expect(() => assertLiteralAllowed('smtp.example.com', strict)).not.toThrow();
  });

  it('checks what a name resolves to, on the address that is connected to', async () => {
    await expect(resolveAllowed('localhost', strict)).rejects.toThrow(
      /^localhost resolves to an address that is a loopback address/,
    );
    const [first] = await resolveAllowed('localhost', loopback);
    expect(['127.0.0.1', '::1']).toContain(first?.address);
  });

  it('names the entry of DESTINATION_ALLOWED_NETWORKS that is not a range', () => {
    expect(parseNetworks(' 127.0.0.0/8 , ::1/128,')).toHaveLength(2);
    expect(() => parseNetworks('127.0.0.1')).toThrow(/"127.0.0.1" is not a CIDR range/);
  });
});
