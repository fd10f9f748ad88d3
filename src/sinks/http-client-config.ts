// The config schemas of the shared HTTP client settings (TLS, timeouts). Kept apart from
// http-client.ts so that validating a config never loads undici: a daemon with only file sinks
// does not pay for the HTTP client's code in memory.
import { z } from 'zod';
import { duration } from '../common/units.js';

export const tlsSchema = z
  .strictObject({
    ca_file: z
      .string()
      .min(1)
      .optional()
      .describe("PEM bundle of CAs to trust instead of the system's (a private CA). Default: the system CAs."),
    cert_file: z.string().min(1).optional().describe('Client certificate (PEM) for mutual TLS; with `key_file`.'),
    key_file: z.string().min(1).optional().describe('Its private key (PEM); both or neither.'),
    insecure_skip_verify: z
      .boolean()
      .default(false)
      .describe("Do not check the server's certificate. Dangerous; logged as a warning at every start."),
  })
  .prefault({})
  .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
    message: 'cert_file and key_file go together',
  });

export const timeoutSchema = z
  .strictObject({
    connect: duration(1).default(10_000).describe('TCP + TLS connect.'),
    // Bounded so that a hung remote never holds a batch forever.
    request: duration(1)
      .default(60_000)
      .describe(
        "Longest wait for the answer's headers, and between body bytes; the whole exchange is also cut off after " +
          '`connect` + `request`.',
      ),
  })
  .prefault({});

export type TlsConfig = z.infer<typeof tlsSchema>;
export type TimeoutConfig = z.infer<typeof timeoutSchema>;
