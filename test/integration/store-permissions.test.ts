// Issue 15 item 12: the file sink's folders and objects followed the umask. Under umask 000 the
// folders were 0777 (another uid could remove a sealed object); under 022 objects were 0444 (any
// local user read sealed decisions). Now whatever the umask: folders tailseal creates 0750,
// objects 0440; a `dir` that already existed keeps the operator's mode.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { logsWith, makeWorkspace, startUnderUmask, stopDaemon, waitFor } from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

const modeOf = (p: string) => (statSync(p).mode & 0o777).toString(8);
const objectsIn = (d: string) => (existsSync(d) ? readdirSync(d).filter((n) => n.endsWith('.ndjson')) : []);

describe('file sink modes whatever the umask', () => {
  const title = 'umask 000: created folders 0750, objects 0440; an existing dir is left as it was';
  it(title, { timeout: 60_000 }, async () => {
    const sink = (name: string, dir: string) => `  - name: ${name}\n    type: file\n    dir: @ROOT@/${dir}`;
    const w = makeWorkspace({ sinksYaml: `${sink('created', 'store/audit')}\n${sink('existing', 'operator-dir')}` });
    writeFileSync(w.configFile, readFileSync(w.configFile, 'utf8').replaceAll('@ROOT@', w.root));
    const createdDir = join(w.root, 'store', 'audit'); // it and store/ are made by tailseal
    const existingDir = join(w.root, 'operator-dir');
    try {
      mkdirSync(existingDir);
      chmodSync(existingDir, 0o777); // the operator's choice (a shared drop folder), not tailseal's to change
      const d = startUnderUmask(w.configFile, '000');
      try {
        const running = () => logsWith(d, 'tailseal running.').length === 1;
        await waitFor(() => running() || d.child.exitCode !== null, 'tailseal running.');
        assert.equal(logsWith(d, 'tailseal running.').length, 1, d.logs.join('\n'));
        writeFileSync(join(w.opaDir, 'opa.log'), `${decisionLine(0, prng(1))}\n`);
        const streams = [join(createdDir, 'opa'), join(existingDir, 'opa')];
        await waitFor(() => streams.every((s) => objectsIn(s).length > 0), 'an object in each sink');
        const dirs = [join(w.root, 'store'), createdDir, ...streams];
        const objects = streams.flatMap((s) => objectsIn(s).map((n) => join(s, n)));
        const modes = Object.fromEntries([existingDir, ...dirs, ...objects].map((p) => [p, modeOf(p)]));
        const want = Object.fromEntries([
          [existingDir, '777'],
          ...dirs.map((p) => [p, '750']),
          ...objects.map((p) => [p, '440']),
        ]);
        assert.deepEqual(modes, want);
      } finally {
        if (d.child.exitCode === null) await stopDaemon(d);
        await d.exited;
      }
    } finally {
      w.cleanup();
    }
  });
});
