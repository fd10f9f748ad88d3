// Where the signing key comes from: a file with strict permissions (group read only when asked,
// for a Kubernetes Secret mounted with fsGroup), or an environment variable.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfiguredSigner, writeKeyPair } from '../../../src/seal/keyfile.js';
import type { TailsealError } from '../../../src/errors.js';

describe('signing key sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-key-'));
  const file = join(dir, 'signer.key');
  const vkey = writeKeyPair(file, 'keys.test/a');
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: { mode: number; allowGroupRead: boolean; ok: boolean }[] = [
    { mode: 0o600, allowGroupRead: false, ok: true },
    { mode: 0o400, allowGroupRead: false, ok: true },
    { mode: 0o640, allowGroupRead: false, ok: false },
    { mode: 0o640, allowGroupRead: true, ok: true },
    { mode: 0o440, allowGroupRead: true, ok: true },
    { mode: 0o660, allowGroupRead: true, ok: false }, // writable by the group
    { mode: 0o644, allowGroupRead: true, ok: false }, // readable by others
  ];
  for (const c of cases) {
    it(`a key file with mode ${c.mode.toString(8)} is ${c.ok ? 'accepted' : 'refused (KEY_PERMISSIONS)'}${c.allowGroupRead ? ' with allow_group_read' : ''}`, () => {
      chmodSync(file, c.mode);
      const load = () => loadConfiguredSigner({ key_file: file, allow_group_read: c.allowGroupRead });
      if (c.ok) assert.equal(load().verifierKey, vkey);
      else
        assert.throws(
          load,
          (e: TailsealError) => e.code === 'KEY_PERMISSIONS' && e.message.includes(`mode ${c.mode.toString(8)}`),
        );
    });
  }

  it('key_env reads the signer key from the environment; unset or garbage is KEY_INVALID naming the variable', () => {
    chmodSync(file, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.equal(
      loadConfiguredSigner({ key_env: 'TS_KEY', allow_group_read: false }, { TS_KEY: `${text}\n` }).verifierKey,
      vkey,
    );
    assert.throws(
      () => loadConfiguredSigner({ key_env: 'TS_KEY', allow_group_read: false }, {}),
      (e: TailsealError) => e.code === 'KEY_INVALID' && /environment variable TS_KEY is not set/.test(e.message),
    );
    assert.throws(
      () => loadConfiguredSigner({ key_env: 'TS_KEY', allow_group_read: false }, { TS_KEY: 'PRIVATE+KEY+nope' }),
      (e: TailsealError) => e.code === 'KEY_INVALID' && /TS_KEY/.test(e.message),
    );
  });
});
