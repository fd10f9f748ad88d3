// The `file` input's config: OPA decision-log files (JSON lines) to tail. The descriptions are
// the config reference (docs/configuration.md is generated from them).
import { z } from 'zod';
import { duration, size } from '../../common/units.js';
import { inputMaskSchema, inputNameSchema, inputStreamSchema } from '../input-config.js';

export const fileInputSchema = z.strictObject({
  name: inputNameSchema(),
  type: z.literal('file'),
  paths: z
    .array(z.string().min(1))
    .min(1)
    .describe('Paths or globs (`*`, `**`, `{a,b}`) of OPA log files; new matching files are picked up.'),
  stream: inputStreamSchema(),
  mask: inputMaskSchema(),
  max_line_bytes: size(64)
    .default(1024 * 1024)
    .describe('A longer line is not sealed; a `line_too_long` gap record says where and how long.'),
  long_lines: z
    .enum(['gap', 'truncate'])
    .default('gap')
    .describe(
      '`truncate`: that gap record also keeps the line\'s first `max_line_bytes` bytes as on disk (`"head"`, cut ' +
        'at a ' +
        'character boundary) and says `"truncated":true`; it stays a gap record, so no sink takes the cut line for a ' +
        'decision.',
    ),
  poll_interval: duration(10)
    .default(250)
    .describe('How often open files are checked for growth, rotation and truncation (file events also trigger reads).'),
  watch: z
    .boolean()
    .default(true)
    .describe(
      'Use file events (inotify) to see changes at once; set `false` on network filesystems or when the inotify ' +
        'limit is reached (directory scans and polling then do all the work).',
    ),
  max_open_files: z
    .number()
    .int()
    .min(1)
    .default(1024)
    .describe(
      'Descriptors the input may hold; beyond it, files read to their end are closed (least recently active first) ' +
        'and reopened where they stopped once a scan or file event shows them changed.',
    ),
  scan_interval: duration(50)
    .default(10_000)
    .describe(
      "How often the directories under the input's globs are listed for new files (always on; the only discovery " +
        'with `watch: false`).',
    ),
  unmatched: z
    .enum(['finish', 'drop'])
    .default('finish')
    .describe(
      'On a config reload, a file this input no longer covers (its glob changed, or the input was removed) is read ' +
        'to its current end (`finish`) or closed with an `out_of_scope` gap record for its unread bytes (`drop`).',
    ),
  rotate_wait: duration(0)
    .default(5000)
    .describe('How long a renamed-away (rotated) or deleted file is still read for late writes after it goes quiet.'),
  format: z
    .enum(['auto', 'json', 'cri', 'docker'])
    .default('json')
    .describe(
      "How lines are wrapped on disk: `json` (OPA's lines as written), `cri` (containerd/CRI-O: the kubelet's " +
        "`/var/log/pods`), `docker` (Docker's json-file driver), or `auto` (decided per line); see " +
        '[Container logs](operations.md#container-logs-kubernetes-nodes).',
    ),
  read_chunk_bytes: size(4096)
    .default(1024 * 1024)
    .describe(
      "Bytes per read; each read's complete lines are sealed in one transaction. While a backlog is read, the next " +
        'chunk is read ahead into a second buffer of this size.',
    ),
});

export type FileInputConfig = z.infer<typeof fileInputSchema>;
