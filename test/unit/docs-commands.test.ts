// Every command the docs show is run by an integration test or listed as not runnable here with the
// reason (test/docs/commands.ts): a new or changed doc command fails here until it is classified.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NOT_RUNNABLE, RUN, allDocCommands, commandsOf } from '../docs/commands.js';
import { REPO_ROOT } from '../helpers/paths.js';

const key = (c: { doc: string; command: string }) => `${c.doc}: ${c.command}`;

describe('doc commands', () => {
  const found = allDocCommands();
  const run = Object.values(RUN);

  it('finds the commands of sh blocks and whole inline tailseal command lines, not synopses', () => {
    const md = [
      '```sh',
      'a --x \\',
      '  --y   # why',
      '# a comment',
      '```',
      '`tailseal verify --store d` and `tailseal run --config FILE [--init-key]`, `tailseal requeue`',
    ].join('\n');
    assert.deepEqual(commandsOf(md), ['a --x --y', 'tailseal verify --store d']);
    assert.ok(found.length > 40, `only ${found.length} commands found`);
  });

  it('each doc command is run by an integration test or listed as not runnable with a reason', () => {
    const known = new Set([...run, ...NOT_RUNNABLE].map(key));
    const unclassified = found.map(key).filter((k) => !known.has(k));
    assert.deepEqual(
      unclassified,
      [],
      'doc commands neither run by a test nor listed as not runnable: add them to RUN (with a test that runs ' +
        'them) or NOT_RUNNABLE (with the reason) in test/docs/commands.ts',
    );
  });

  it('every registry entry is still in the docs, and listed once', () => {
    const inDocs = new Set(found.map(key));
    const entries = [...run, ...NOT_RUNNABLE].map(key);
    assert.deepEqual(
      entries.filter((k) => !inDocs.has(k)),
      [],
      'stale entries in test/docs/commands.ts',
    );
    assert.equal(new Set(entries).size, entries.length, 'an entry listed twice');
    for (const e of NOT_RUNNABLE) assert.ok(e.reason.length > 10, `a reason for ${key(e)}`);
  });

  it('each RUN entry is named by the integration test that runs it', () => {
    for (const [name, e] of Object.entries(RUN)) {
      const source = readFileSync(join(REPO_ROOT, 'test', 'integration', e.test), 'utf8');
      assert.match(source, new RegExp(`\\bRUN\\.${name}\\b`), `${e.test} runs RUN.${name}`);
    }
  });
});
