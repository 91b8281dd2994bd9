/**
 * The browser build: one ES module, `dist/hypha-arrow.browser.mjs`, with apache-arrow,
 * @msgpack/msgpack, the decompressors and hypha-rpc inside, so a page loads hypha-arrow with
 * one `<script type="module">` or import map entry and no bundler of its own (lz4js is
 * CommonJS, which browsers cannot import). Apps that bundle import `hypha-arrow` as usual.
 *
 * Run by `npm run build`, and by `npm install` / `npm ci` through the `prepare` script.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const BROWSER_BUNDLE = `${ROOT}dist/hypha-arrow.browser.mjs`;

/** Bundles `src/index.js` for browsers; resolves to the bundle's path. */
export async function buildBrowser() {
  await build({
    entryPoints: [`${ROOT}src/index.js`],
    outfile: BROWSER_BUNDLE,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    // the inflating worker is Node's (src/rpc/inflater.js imports it only there): a browser inflates inline
    external: ["node:worker_threads"],
    logLevel: "warning",
  });
  return BROWSER_BUNDLE;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildBrowser();
