// The verifier page's script (bundled into the page by src/page/build.ts): wires the key, bundle and
// object inputs to check.ts and shows the outcome. Nothing leaves the page: its CSP allows no request.
import { type ChosenFile, type Outcome, checkBundle, checkObjects, failure } from './check.js';
import { renderOutcome } from './render.js';

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const key = byId<HTMLTextAreaElement>('key');
const bundle = byId<HTMLTextAreaElement>('bundle');
const bundleFile = byId<HTMLInputElement>('bundle-file');
const objectFiles = byId<HTMLInputElement>('object-files');
const objectFolder = byId<HTMLInputElement>('object-folder');
const chosen = byId<HTMLElement>('chosen');
const result = byId<HTMLElement>('result');

/** The object files to verify: the last set chosen, from either input. */
let objects: ChosenFile[] = [];

function choose(input: HTMLInputElement): void {
  objects = [...(input.files ?? [])];
  chosen.textContent = `${objects.length} file(s) chosen`;
}
objectFiles.addEventListener('change', () => choose(objectFiles));
objectFolder.addEventListener('change', () => choose(objectFolder));

// A chosen bundle file goes into the text box (as its value, never as markup), then is checked from there.
bundleFile.addEventListener('change', () => {
  const f = bundleFile.files?.[0];
  if (f)
    f.text().then(
      (t) => (bundle.value = t),
      (err) => renderOutcome(result, failure(err)),
    );
});

/** Runs one check, showing "verifying" meanwhile and the elapsed time after. */
async function run(check: () => Outcome | Promise<Outcome>): Promise<void> {
  result.dataset.state = 'running';
  result.textContent = 'verifying…';
  const t0 = performance.now();
  renderOutcome(result, await check());
  const ms = Math.round(performance.now() - t0);
  result.dataset.ms = String(ms);
  const took = document.createElement('p');
  took.textContent = `Checked in ${(ms / 1000).toFixed(1)} s.`;
  result.append(took);
}

// Errors of the check itself are outcomes (check.ts); nothing is left for a floating promise to lose.
byId('check-bundle').addEventListener('click', () => void run(() => checkBundle(key.value, bundle.value)));
byId('check-objects').addEventListener('click', () => {
  const progress = (done: number, total: number, name: string) =>
    (result.textContent = `verifying… ${done} of ${total} object reads (${name})`);
  void run(() => checkObjects(key.value, objects, progress));
});
