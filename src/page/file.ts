// Where `npm run build` puts the verifier page (src/page/build.ts) and `tailseal verifier-page`
// reads it: beside this module in dist/, so a package or image that ships dist/src ships the page.
export const VERIFIER_PAGE_URL = new URL('./verifier.html', import.meta.url);
