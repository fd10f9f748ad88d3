// The `opa_service` input: its config schema and factory.
import { countsRefusals } from '../capabilities.js';
import type { Source, SourceDeps } from '../source.js';
import { type OpaServiceInputConfig, parseListen } from './config.js';
import { OpaServiceReceiver, readSecret } from './receiver.js';

export { type OpaServiceInputConfig, opaServiceInputSchema } from './config.js';
export { OpaServiceReceiver } from './receiver.js';

export function createOpaServiceSource(input: OpaServiceInputConfig, deps: SourceDeps): OpaServiceReceiver & Source {
  const { host, port } = parseListen(input.listen);
  return new OpaServiceReceiver(
    {
      input: input.name,
      stream: input.stream ?? input.name,
      host,
      port,
      resource: input.resource,
      token:
        input.token ?? (input.token_file ? readSecret(input.token_file, 'token file', input.name).trim() : undefined),
      tls: input.tls && {
        cert: readSecret(input.tls.cert_file, 'TLS certificate', input.name),
        key: readSecret(input.tls.key_file, 'TLS key', input.name),
      },
      maxBodyBytes: input.max_body_bytes,
      maxDecodedBytes: input.max_decoded_bytes,
      maxInflightDecodedBytes: input.max_inflight_decoded_bytes,
      maxEvents: input.max_events,
      opaUploadLimit: input.opa_upload_size_limit_bytes,
      requestTimeoutMs: input.request_timeout,
      retryAfterMs: input.retry_after,
      dedupe: { windowMs: input.dedupe.window, maxIds: input.dedupe.max_ids },
    },
    {
      consumer: deps.consumer,
      log: deps.log,
      refused: countsRefusals(deps) ? (input, reason) => deps.refused(input, reason) : undefined,
    },
  );
}
