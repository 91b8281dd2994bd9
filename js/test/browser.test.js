/**
 * The browser example (examples/) in headless Chromium, against its own server (examples/serve.py:
 * a real Hypha server and a Python hypha_arrow service): what the page shows, and a large array
 * fetched by the browser build, timed next to Node.
 *
 * The expected values are recomputed here from serve.py's formulas, not read from the page.
 * Chromium comes from the OS (Debian's `chromium`); $CHROMIUM names another executable.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { buildBrowser } from "../scripts/build_browser.js";
import { NDArray, connectToServer } from "../src/index.js";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ROWS = 1000;
const SHOWN_ROWS = 10;
const PLOTTED = 500;
const LARGE = 2_500_000; // 20 MB of float64: chunked through the message cache
const RUNS = 5;

const temperature = (hour) => 12 + (hour % 24) * 0.25;
const station = (hour) => `station-${hour % 4}`;
const sine = (i, samples) => Math.sin(i * ((2 * Math.PI * 3) / samples));

let serve;
let pageUrl;
let browser;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium) or set $CHROMIUM`);
  await buildBrowser(); // always: a stale bundle would test old code
  serve = spawn(PYTHON, [new URL("../examples/serve.py", import.meta.url).pathname], { stdio: ["ignore", "pipe", "inherit"] });
  pageUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("examples/serve.py printed no address within 90 s")), 90_000);
    serve.once("exit", (code) => reject(new Error(`examples/serve.py exited with ${code}`)));
    createInterface({ input: serve.stdout }).on("line", (line) => {
      const address = /^Open (http\S+)$/.exec(line)?.[1];
      if (address) {
        clearTimeout(timer);
        resolve(address);
      }
    });
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
});

after(async () => {
  await browser?.close();
  serve?.kill();
});

/** A page with its console errors and uncaught exceptions collected. */
async function openPage() {
  const page = await browser.newPage();
  const problems = [];
  page.on("console", (message) => message.type() === "error" && problems.push(`console: ${message.text()}`));
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  return { page, problems };
}

async function loadExample(page) {
  await page.goto(pageUrl);
  await page.waitForFunction(() => document.body.dataset.state !== "loading", null, { timeout: 30_000 });
  return page.evaluate(() => ({ state: document.body.dataset.state, status: document.querySelector("#status").textContent }));
}

test("the example page shows the DataFrame's first rows and a plot of the array, with no console errors", async (t) => {
  const { page, problems } = await openPage();
  const cdp = await page.context().newCDPSession(page);
  const handshakes = [];
  cdp.on("Network.webSocketWillSendHandshakeRequest", ({ request }) => handshakes.push({ offered: header(request.headers, "sec-websocket-extensions") }));
  cdp.on("Network.webSocketHandshakeResponseReceived", ({ response }) => Object.assign(handshakes.at(-1) ?? {}, { accepted: header(response.headers, "sec-websocket-extensions") }));
  await cdp.send("Network.enable");

  assert.deepEqual(await loadExample(page), { state: "ready", status: "Connected." });
  assert.equal(await page.textContent("#table-summary"), `${ROWS} rows, 3 columns; the first ${SHOWN_ROWS}:`);
  const cells = await page.$$eval("#readings tr", (rows) => rows.map((row) => Array.from(row.cells, (cell) => cell.textContent)));
  const expected = Array.from({ length: SHOWN_ROWS }, (_, hour) => [String(hour), String(temperature(hour)), station(hour)]);
  assert.deepEqual(cells, [["hour", "temperature", "station"], ...expected]);

  const points = (await page.getAttribute("#plot svg polyline", "points")).trim().split(/\s+/);
  assert.equal(points.length, PLOTTED);
  const values = Array.from({ length: PLOTTED }, (_, i) => sine(i, PLOTTED));
  const range = `min ${Math.min(...values).toFixed(3)}, max ${Math.max(...values).toFixed(3)}`;
  assert.equal(await page.textContent("#plot-summary"), `<f8 [${PLOTTED}] as Float64Array, ${range}`);
  assert.deepEqual(problems, []);

  assert.ok(handshakes.length >= 1, "the page opened no WebSocket");
  t.diagnostic(`permessage-deflate: Chromium offered ${JSON.stringify(handshakes[0].offered)}, the server accepted ${JSON.stringify(handshakes[0].accepted)}`);
});

test("a 20 MB array reaches the browser build through the message cache as a Float64Array NDArray; timed against Node", async (t) => {
  const { page, problems } = await openPage();
  assert.equal((await loadExample(page)).state, "ready");
  const serviceId = new URL(pageUrl).searchParams.get("service");
  const browserRun = await page.evaluate(
    async ({ serviceId, samples, runs }) => {
      const { connectToServer, NDArray } = await import("hypha-arrow");
      const server = await connectToServer({ server_url: location.origin, method_timeout: 60 });
      const service = await server.getService(serviceId);
      await service.signal(samples); // warm-up: the service computes and caches the samples
      const times = [];
      let array;
      for (let run = 0; run < runs; run++) {
        const start = performance.now();
        array = await service.signal(samples);
        times.push(performance.now() - start);
      }
      await server.disconnect();
      const probes = [0, 1, samples >> 2, samples - 1];
      return { isNDArray: array instanceof NDArray, kind: array.data.constructor.name, shape: array.shape, probes, values: probes.map((i) => array.data[i]), times };
    },
    { serviceId, samples: LARGE, runs: RUNS },
  );
  assert.deepEqual([browserRun.isNDArray, browserRun.kind, browserRun.shape], [true, "Float64Array", [LARGE]]);
  browserRun.probes.forEach((i, k) => assert.ok(Math.abs(browserRun.values[k] - sine(i, LARGE)) < 1e-12, `sample ${i}: ${browserRun.values[k]}`));
  assert.deepEqual(problems, []);

  globalThis.WebSocket = WebSocket;
  const node = await connectToServer({ server_url: new URL(pageUrl).origin, method_timeout: 60, logger: null });
  const service = await node.getService(serviceId);
  await service.signal(LARGE); // warm-up, as in the browser
  const nodeTimes = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    const array = await service.signal(LARGE);
    nodeTimes.push(performance.now() - start);
    assert.ok(array instanceof NDArray && array.data.length === LARGE);
  }
  await node.disconnect();
  t.diagnostic(`20 MB float64, Python to JS, median of ${RUNS}: browser ${median(browserRun.times).toFixed(0)} ms, Node ${median(nodeTimes).toFixed(0)} ms`);
});

function header(headers, name) {
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? null : headers[key];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
