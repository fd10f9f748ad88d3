// The HTTP client settings every HTTP-based sink shares: TLS (custom CA, client certificate,
// verification switch), an optional HTTPS proxy, and connect/request timeouts, all on undici.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Agent, type Dispatcher, ProxyAgent } from 'undici';
import { TailsealError, errorMessage } from '../../errors.js';
import type { TimeoutConfig, TlsConfig } from './config.js';

function readPem(file: string, what: string, sink: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TailsealError('CONFIG_INVALID', `sink ${sink}: cannot read ${what} ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** An undici dispatcher for one sink (a ProxyAgent when `proxy` is set). */
export function createDispatcher(
  sink: string,
  o: { tls: TlsConfig; timeout: TimeoutConfig; proxy?: string | undefined },
  log: Logger,
): Dispatcher {
  if (o.tls.insecure_skip_verify)
    log.warn(
      { sink },
      'TLS certificate verification is OFF for this sink (tls.insecure_skip_verify: true); anyone on the path can ' +
        'impersonate the store.',
    );
  const connect = {
    timeout: o.timeout.connect,
    rejectUnauthorized: !o.tls.insecure_skip_verify,
    ...(o.tls.ca_file ? { ca: readPem(o.tls.ca_file, 'CA bundle', sink) } : {}),
    ...(o.tls.cert_file
      ? {
          cert: readPem(o.tls.cert_file, 'client certificate', sink),
          key: readPem(o.tls.key_file!, 'client key', sink),
        }
      : {}),
  };
  const common = { connect, headersTimeout: o.timeout.request, bodyTimeout: o.timeout.request };
  return o.proxy ? new ProxyAgent({ uri: o.proxy, ...common, requestTls: connect }) : new Agent(common);
}
