// Config keys every input has, whatever its type, with the descriptions the config reference
// (docs/configuration.md) is generated from.
import { nameSchema } from '../common/units.js';
import { maskSchema } from '../mask/config.js';

export const inputNameSchema = () =>
  nameSchema().describe('Unique name (letters, digits, `.`, `_`, `-`; at most 64 characters).');
export const inputStreamSchema = () =>
  nameSchema()
    .optional()
    .describe(
      "Stream (one chain and one tree) the decisions go to; several inputs may share one. Default: the input's name.",
    );
export const inputMaskSchema = () =>
  maskSchema
    .optional()
    .describe(
      'Mask and drop rules applied to every decision of the input before it is sealed; see ' +
        '[Masking and dropping](operations.md#masking-and-dropping).',
    );
