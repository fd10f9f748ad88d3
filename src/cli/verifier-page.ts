// `tailseal verifier-page --out F`: writes the verifier page `npm run build` made (src/page/build.ts)
// and prints its SHA-256 and size: the auditor compares the SHA-256 with the one published for the
// release (docs/operations.md, "Verifying in a browser") before opening the page.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TailsealError, errorMessage } from '../errors.js';
import { VERIFIER_PAGE_URL } from '../page/file.js';
import { EXIT_OK } from './exit.js';

/** The built page's bytes (USAGE when the build did not make it: a checkout without `npm run build`). */
export function verifierPage(): Buffer {
  try {
    return readFileSync(VERIFIER_PAGE_URL);
  } catch (err) {
    const where = fileURLToPath(VERIFIER_PAGE_URL);
    throw new TailsealError(
      'USAGE',
      `the verifier page ${where} cannot be read (run npm run build): ${errorMessage(err)}`,
    );
  }
}

export function verifierPageCommand(o: { out: string }): number {
  const page = verifierPage();
  try {
    // 'wx': never overwrite a file, as prove --out.
    writeFileSync(o.out, page, { flag: 'wx' });
  } catch (err) {
    throw new TailsealError('USAGE', `cannot write --out ${o.out}: ${errorMessage(err)}`);
  }
  // The first line is sha256sum's format, so `sha256sum F` prints the same line.
  process.stdout.write(`${createHash('sha256').update(page).digest('hex')}  ${o.out}\n`);
  process.stdout.write(`wrote ${o.out}: ${page.length} bytes\n`);
  return EXIT_OK;
}
