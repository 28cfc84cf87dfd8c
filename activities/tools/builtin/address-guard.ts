import dns from 'node:dns';
import net from 'node:net';
import { AppError } from '../../../platform/errors';

const BLOCKED_V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4'];
// ::/96 holds ::, ::1 and the deprecated IPv4-compatible form (::7f00:1 is 127.0.0.1); ::ffff:0:0:0/96 is SIIT's IPv4-translated form.
const BLOCKED_V6 = ['::/96', '::ffff:0:0:0/96', '64:ff9b::/96', '100::/64', '2001:db8::/32', 'fc00::/7', 'fe80::/10', 'fec0::/10', 'ff00::/8'];

const blockList = new net.BlockList();
for (const cidr of BLOCKED_V4) blockList.addSubnet(cidr.split('/')[0]!, Number(cidr.split('/')[1]), 'ipv4');
for (const cidr of BLOCKED_V6) blockList.addSubnet(cidr.split('/')[0]!, Number(cidr.split('/')[1]), 'ipv6');

/** Whether an IP address is loopback, private, link-local, multicast, reserved or otherwise not public. */
export function isBlockedAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return true;
  return blockList.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export interface AddressPolicy {
  /** Let requests reach private and loopback addresses (a trusted single-user install). */
  allowPrivate: boolean;
  /** Host names or IP literals exempt from the address check. */
  allowedHosts: readonly string[];
}

function blocked(host: string, address: string): AppError {
  return new AppError('FORBIDDEN', `requests to ${host} (${address}) are blocked: not a public address`, { reason: 'blocked_address', host, address });
}

const bareHost = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

/** Throws FORBIDDEN when a URL's host is an IP literal the policy does not allow. */
export function assertHostAllowed(host: string, policy: AddressPolicy): void {
  const h = bareHost(host);
  if (policy.allowPrivate || policy.allowedHosts.includes(h)) return;
  if (net.isIP(h) !== 0 && isBlockedAddress(h)) throw blocked(h, h);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls connections that resolves every address of a host and fails when any
 * of them is blocked: the connection then goes to an address that was checked (no rebinding gap).
 */
export function guardedLookup(policy: AddressPolicy) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      const h = bareHost(hostname);
      if (!policy.allowPrivate && !policy.allowedHosts.includes(h)) {
        const bad = addresses.find((a) => isBlockedAddress(a.address));
        if (bad) return callback(blocked(h, bad.address) as unknown as NodeJS.ErrnoException, '');
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      callback(null, first.address, first.family);
    });
  };
}
