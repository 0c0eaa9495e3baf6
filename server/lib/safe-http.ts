/**
 * One HTTP POST to a URL a merchant gave us, guarded against server-side request forgery: the host's DNS answer is
 * resolved here, EVERY address in it must be public unicast (ipaddr.js `range()` === `unicast`: no private,
 * loopback, link-local, unique-local, CGNAT, multicast, reserved or unspecified address, IPv4-mapped IPv6 judged by
 * its IPv4), and the connection goes to an address that was checked (the `lookup` hook of `node:http`, so a second
 * DNS answer cannot slip in: no rebinding between check and connect). Redirects are never followed (a 3xx is an
 * answer like any other). Literal IP hosts are checked the same way.
 *
 * Sources: OWASP SSRF Prevention Cheat Sheet; RFC 6890 (special-purpose address registries).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why a request was not sent or not answered (message safe to show to the merchant). */
export class OutboundRequestError extends Error {
  override name = 'OutboundRequestError';
  constructor(
    message: string,
    readonly code: 'address_not_allowed' | 'dns_failed' | 'timeout' | 'network_error' | 'invalid_url',
  ) {
    super(message);
  }
}

/** True when `address` (IPv4 or IPv6 text) is a public unicast address. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  // `process` turns an IPv4-mapped IPv6 address (::ffff:127.0.0.1) into its IPv4 address.
  return ipaddr.process(address).range() === 'unicast';
}

export interface PostResult {
  status: number;
  /** The first `excerptBytes` of the answer's body, as UTF-8. */
  excerpt: string;
}

/**
 * POST `body` to `url` with `headers`; resolves with the answer's status and the start of its body.
 * @param opts.allowPrivate skip the address check (`WEBHOOK_ALLOW_PRIVATE=on`)
 * @param opts.timeoutMs for the whole exchange (connect, send, answer), ms
 * @throws OutboundRequestError (address_not_allowed, dns_failed, timeout, network_error, invalid_url)
 */
export function guardedPost(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { allowPrivate: boolean; timeoutMs: number; excerptBytes?: number },
): Promise<PostResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.reject(new OutboundRequestError('not a URL', 'invalid_url'));
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:')
    return Promise.reject(new OutboundRequestError('only http and https URLs', 'invalid_url'));
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !opts.allowPrivate && !isPublicAddress(host))
    return Promise.reject(new OutboundRequestError(`${host} is not a public address`, 'address_not_allowed'));

  const lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses: LookupAddress[]) => {
      if (err || addresses.length === 0) {
        callback(new OutboundRequestError(`cannot resolve ${hostname}`, 'dns_failed'), '', 4);
        return;
      }
      const refused = opts.allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a.address));
      if (refused) {
        callback(
          new OutboundRequestError(
            `${hostname} resolves to ${refused.address}, not a public address`,
            'address_not_allowed',
          ),
          '',
          4,
        );
        return;
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  const excerptBytes = opts.excerptBytes ?? 1024;
  return new Promise<PostResult>((resolve, reject) => {
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup,
        agent: false,
        timeout: opts.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < excerptBytes) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            excerpt: Buffer.concat(chunks).subarray(0, excerptBytes).toString('utf8'),
          });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(new OutboundRequestError(err.message, 'network_error'));
        });
      },
    );
    // One deadline for the whole exchange (`timeout` above only covers an idle socket).
    const timer = setTimeout(() => {
      req.destroy(new OutboundRequestError(`no answer within ${opts.timeoutMs} ms`, 'timeout'));
    }, opts.timeoutMs);
    req.on('timeout', () => req.destroy(new OutboundRequestError(`no answer within ${opts.timeoutMs} ms`, 'timeout')));
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof OutboundRequestError ? err : new OutboundRequestError(err.message, 'network_error'));
    });
    req.end(body);
  });
}
