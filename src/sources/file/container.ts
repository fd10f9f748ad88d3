// Container log formats: OPA's stderr as the container runtime wrote it to disk.
//
// - CRI (containerd, CRI-O; the kubelet's /var/log/pods/<ns>_<pod>_<uid>/<container>/N.log):
//   `<RFC3339Nano time> <stdout|stderr> <tag> <content>`, tag `P` for a partial piece (the
//   runtime splits long lines, 16 KiB by default) and `F` for the piece that ends the line.
//   https://github.com/kubernetes/design-proposals-archive/blob/main/node/kubelet-cri-logging.md
// - Docker json-file: `{"log":"<content with its \n>","stream":"stderr","time":"..."}`, a line
//   over 16 KiB split across records whose `log` does not end with "\n".
//
// A decoder turns physical lines into logical lines (OPA's own line, reassembled) and keeps the
// wrapper's facts as envelope metadata. It holds pieces only within one read: the file offset
// committed for a read stops before the first piece of an unfinished line, so the next read (or
// a restart) starts at that piece again and nothing half-joined is ever sealed.
export type LogFormat = 'auto' | 'json' | 'cri' | 'docker';

export type Decoded =
  | { kind: 'line'; offset: number; payload: Buffer; meta: Record<string, string> | undefined }
  | { kind: 'pending' }
  | { kind: 'bad'; reason: 'bad_cri' | 'bad_docker' };

const SPACE = 0x20;
const CRI_HEAD = /^\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d) (stdout|stderr) [A-Z](:[A-Z]+)*( |$)/;
const DOCKER_HEAD = Buffer.from('{"log":');

interface Piece {
  format: 'cri' | 'docker';
  final: boolean;
  content: Buffer;
  stream: string;
  time: string;
}

function parseCri(line: Buffer): Piece | null {
  const head = line.subarray(0, 96).toString('latin1');
  if (!CRI_HEAD.test(head)) return null;
  const s1 = line.indexOf(SPACE);
  const s2 = line.indexOf(SPACE, s1 + 1);
  const s3 = line.indexOf(SPACE, s2 + 1);
  const tag = line.subarray(s2 + 1, s3 < 0 ? line.length : s3).toString('latin1');
  return {
    format: 'cri',
    final: tag.split(':')[0] !== 'P',
    content: s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1),
    stream: line.subarray(s1 + 1, s2).toString('latin1'),
    time: line.subarray(0, s1).toString('latin1'),
  };
}

function parseDocker(line: Buffer): Piece | null {
  let o: unknown;
  try {
    o = JSON.parse(line.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null) return null;
  const { log, stream, time } = o as { log?: unknown; stream?: unknown; time?: unknown };
  if (typeof log !== 'string') return null;
  const final = log.endsWith('\n');
  return {
    format: 'docker',
    final,
    content: Buffer.from(final ? log.slice(0, -1) : log, 'utf8'),
    stream: typeof stream === 'string' ? stream : '',
    time: typeof time === 'string' ? time : '',
  };
}

export class LineDecoder {
  private pieces: Piece[] = [];
  private start = -1;
  private bytes = 0;

  constructor(
    private readonly format: LogFormat,
    /** Pairs every line of this file carries (the Kubernetes pod, from the path). */
    private readonly fileMeta: Record<string, string> | undefined,
  ) {}

  /** Forgets pieces held from the previous read (it is re-read from pendingStart). */
  reset(): void {
    this.pieces = [];
    this.start = -1;
    this.bytes = 0;
  }

  /** File offset of the first piece of an unfinished line, if any. */
  get pendingStart(): number | undefined {
    return this.start < 0 ? undefined : this.start;
  }

  /** Content bytes held for the unfinished line. */
  get pendingBytes(): number {
    return this.bytes;
  }

  private parse(line: Buffer): Piece | 'json' | null {
    // A line already begun keeps its format (auto decides on its first piece).
    const f: LogFormat = this.pieces.length > 0 ? this.pieces[0]!.format : this.format;
    if (f === 'json') return 'json';
    if (f === 'cri') return parseCri(line);
    if (f === 'docker') return parseDocker(line);
    // auto: decide per line by its shape.
    if (line.subarray(0, DOCKER_HEAD.length).equals(DOCKER_HEAD)) return parseDocker(line) ?? 'json';
    return parseCri(line) ?? 'json';
  }

  /** Whether a physical line ends a logical line (used to skip the rest of an over-long one). */
  isFinal(line: Buffer): boolean {
    const p = this.parse(line);
    return p === null || p === 'json' || p.final;
  }

  /** Feeds one physical line (without "\n") that starts at file offset `at`. */
  push(line: Buffer, at: number): Decoded {
    const p = this.parse(line);
    if (p === 'json') return { kind: 'line', offset: at, payload: line, meta: this.fileMeta };
    if (p === null) {
      this.reset();
      return {
        kind: 'bad',
        reason:
          this.format === 'docker' || line.subarray(0, DOCKER_HEAD.length).equals(DOCKER_HEAD)
            ? 'bad_docker'
            : 'bad_cri',
      };
    }
    if (this.start < 0) this.start = at;
    this.pieces.push(p);
    this.bytes += p.content.length;
    if (!p.final) return { kind: 'pending' };
    const pieces = this.pieces;
    const offset = this.start;
    this.reset();
    const first = pieces[0]!;
    const meta: Record<string, string> = {
      ...this.fileMeta,
      'log.format': first.format,
      'log.stream': first.stream,
      'log.time': first.time,
    };
    if (pieces.length > 1) meta['log.pieces'] = String(pieces.length);
    return {
      kind: 'line',
      offset,
      payload: pieces.length === 1 ? first.content : Buffer.concat(pieces.map((x) => x.content)),
      meta,
    };
  }
}

const POD_DIR = /\/var\/log\/pods\/([^/_]+)_([^/_]+)_([^/]+)\/([^/]+)\/[^/]+$/;
const CONTAINER_LINK = /\/var\/log\/containers\/([^/_]+)_([^/_]+)_(.+)-([0-9a-f]{64})\.log$/;

/**
 * The Kubernetes pod of a container log file, from the kubelet's layout: the real path
 * /var/log/pods/<namespace>_<pod>_<uid>/<container>/N.log, or the symlink name
 * /var/log/containers/<pod>_<namespace>_<container>-<container id>.log. Undefined elsewhere.
 */
export function kubernetesMeta(path: string, realPath: string): Record<string, string> | undefined {
  const m = POD_DIR.exec(realPath) ?? POD_DIR.exec(path);
  if (m) return { 'k8s.namespace': m[1]!, 'k8s.pod': m[2]!, 'k8s.pod_uid': m[3]!, 'k8s.container': m[4]! };
  const c = CONTAINER_LINK.exec(path);
  if (c) return { 'k8s.pod': c[1]!, 'k8s.namespace': c[2]!, 'k8s.container': c[3]!, 'k8s.container_id': c[4]! };
  return undefined;
}
