// The `mask` block of an input: rules applied, in order, to every decision before it is sealed.
import { z } from 'zod';

const pointer = z.string().regex(/^\//, 'must be a JSON pointer such as "/input/password"');
/** OPA masks only inside these members (v1/plugins/logs/mask.go: "mask prefix not allowed"). */
const maskable = pointer.regex(
  /^\/(input|result|nd_builtin_cache)(\/|$)/,
  'OPA masks only under /input, /result or /nd_builtin_cache',
);

const regex = z.string().refine((s) => {
  try {
    new RegExp(s, 'u');
    return true;
  } catch {
    return false;
  }
}, 'must be a valid regular expression');

export const maskRuleSchema = z.union([
  z.strictObject({ erase: maskable }),
  z.strictObject({ upsert: maskable, value: z.json() }),
  z.strictObject({ hmac: maskable }),
  z.strictObject({ drop: pointer, equals: z.json() }),
  z.strictObject({ drop: pointer, matches: regex }),
]);

export const maskSchema = z
  .strictObject({
    rules: z
      .array(maskRuleSchema)
      .min(1)
      .describe(
        'Applied in order: `{erase: P}`, `{upsert: P, value: V}`, `{hmac: P}`, `{drop: P, equals: V}` or ' +
          '`{drop: P, matches: REGEX}`, P a JSON pointer ' +
          '([Masking and dropping](operations.md#masking-and-dropping)).',
      ),
    hmac_key: z
      .string()
      .min(16, 'must be at least 16 characters')
      .optional()
      .describe('Key of the `hmac` rules (at least 16 characters; use `${ENV}` or a mounted Secret).'),
    tombstones: z
      .boolean()
      .default(true)
      .describe('Seal a small gap record (`decision_id`, rule) for each dropped decision; `false`: only count it.'),
    version: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" or "-"')
      .optional()
      .describe('Named version of the rule set, sealed with every masked decision. Default: a hash of the rules.'),
  })
  .refine((m) => !m.rules.some((r) => 'hmac' in r) || m.hmac_key !== undefined, {
    message: 'hmac rules need hmac_key',
    path: ['hmac_key'],
  });

export type MaskConfig = z.infer<typeof maskSchema>;
export type MaskRule = z.infer<typeof maskRuleSchema>;
