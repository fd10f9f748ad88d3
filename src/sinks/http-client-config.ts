// The config schemas of the shared HTTP client settings (TLS, timeouts). Kept apart from
// http-client.ts so that validating a config never loads undici: a daemon with only file sinks
// does not pay for the HTTP client's code in memory.
import { z } from 'zod';
import { duration } from '../config/units.js';

export const tlsSchema = z
  .strictObject({
    /** PEM bundle of CAs to trust instead of the system's (e.g. a private CA). */
    ca_file: z.string().min(1).optional(),
    /** Client certificate and key (PEM) for mutual TLS. */
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    /** Turn off certificate verification. Dangerous; logged as a warning at every start. */
    insecure_skip_verify: z.boolean().default(false),
  })
  .prefault({})
  .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
    message: 'cert_file and key_file go together',
  });

export const timeoutSchema = z
  .strictObject({
    /** TCP + TLS connect. */
    connect: duration(1).default(10_000),
    /** Whole request: headers and body, so a hung remote never holds a batch forever. */
    request: duration(1).default(60_000),
  })
  .prefault({});

export type TlsConfig = z.infer<typeof tlsSchema>;
export type TimeoutConfig = z.infer<typeof timeoutSchema>;
