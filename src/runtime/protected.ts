// What file inputs never read, from the config: tailseal's own secrets and its own output. A link
// to the signing key let a long line's gap record `head` carry the key seed; a link to the state
// database's WAL made tailseal read its own writes.
import type { Config } from '../config/schema.js';
import type { ProtectedPaths } from '../sources/capabilities.js';

/** The protected files and directories of `config`; `dbPath` is the state database's file. */
export function protectedPaths(config: Config, dbPath: string): ProtectedPaths {
  const files = [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, `${dbPath}-journal`];
  if (config.signing.key_file) files.push(config.signing.key_file);
  const dirs = [config.state_dir, `${dbPath}-outbox`];
  for (const s of config.sinks) {
    if (s.type === 'file') dirs.push(s.dir);
    if ('tls' in s && s.tls.key_file) files.push(s.tls.key_file);
  }
  for (const i of config.inputs) {
    if (i.type !== 'opa_service') continue;
    if (i.tls) files.push(i.tls.key_file);
    if (i.token_file) files.push(i.token_file);
  }
  return { files, dirs };
}
