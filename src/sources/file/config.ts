// The `file` input's config: OPA decision-log files (JSON lines) to tail.
import { z } from 'zod';
import { duration, nameSchema, size } from '../../config/units.js';
import { maskSchema } from '../../mask/config.js';

export const fileInputSchema = z.strictObject({
  name: nameSchema(),
  type: z.literal('file'),
  /** Paths or globs of OPA decision-log files (one JSON object per line). */
  paths: z.array(z.string().min(1)).min(1),
  /** The stream (one hash chain and tree) the decisions go to; defaults to the input's name. */
  stream: nameSchema().optional(),
  /** Mask and drop rules applied to every decision of this input before it is sealed. */
  mask: maskSchema.optional(),
  /** A line longer than this is not sealed; a gap record says where it was and how long. */
  max_line_bytes: size(64).default(1024 * 1024),
  /**
   * Over-long lines: `gap` (location and length only) or `truncate` (the gap record also keeps the line's
   * first max_line_bytes bytes).
   */
  long_lines: z.enum(['gap', 'truncate']).default('gap'),
  /** How often every open file is checked for growth, rotation and truncation. */
  poll_interval: duration(10).default(250),
  /** Use file events (inotify) to see changes at once; false on network filesystems or when inotify is exhausted. */
  watch: z.boolean().default(true),
  /** File descriptors this input may hold open; files idle at their end beyond it are closed until they change. */
  max_open_files: z.number().int().min(1).default(1024),
  /** How often the input's directories are listed for new files (the only discovery with watch: false). */
  scan_interval: duration(50).default(10_000),
  /**
   * On a config reload, a file this input no longer covers (its glob changed, or the input was
   * removed): `finish` reads it to its current end first; `drop` seals its unread bytes as an
   * `out_of_scope` gap record instead.
   */
  unmatched: z.enum(['finish', 'drop']).default('finish'),
  /** How long a file renamed away (rotated) is still read for late writes before it is closed. */
  rotate_wait: duration(0).default(5000),
  /**
   * How lines are wrapped on disk: `json` (OPA's lines as written), `cri` (containerd/CRI-O,
   * the kubelet's /var/log/pods), `docker` (json-file driver), or `auto` (decided per line).
   */
  format: z.enum(['auto', 'json', 'cri', 'docker']).default('json'),
  /** Bytes read per read() call. */
  read_chunk_bytes: size(4096).default(1024 * 1024),
});

export type FileInputConfig = z.infer<typeof fileInputSchema>;
