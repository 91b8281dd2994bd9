/**
 * The Node side of `python -m benchmarks.js_e2e`: reads its plan (server, service ids, cases,
 * repeats, where to write the report) as JSON on stdin, times the calls, and writes every
 * call's time in milliseconds. Medians and targets are the Python side's job.
 *
 * Modes, interleaved call by call so that drift in the machine's load hits them alike:
 * - stock: hypha-rpc JS as users run it (`globalThis.WebSocket` = ws, permessage-deflate on)
 *   calling a stock hypha-rpc Python service;
 * - hypha_arrow: hypha-arrow's `connectToServer` calling a hypha_arrow Python service;
 * - floor: the hypha_arrow client and service moving raw bytes of the hypha_arrow frame's size;
 * - for the small call also the JavaScript side alone: stock hypha-rpc JS with deflate off
 *   (stock_no_deflate) and hypha-arrow JS (hypha_arrow_js_only), both calling the stock service.
 * Every value is checked against the payload's digest after each call, outside the clock.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { hyphaWebsocketClient } from "hypha-rpc";
import { Table } from "apache-arrow";
import { NDArray, connectToServer } from "../src/index.js";

const SMALL_VALUE = 42;

/**
 * The digest `benchmarks/js_e2e.py` computes in Python: sha256 over each column's name, then
 * its numbers as float64 little-endian bytes or its strings joined by "\n"; raw bytes as they are.
 */
function digest(value) {
  const hash = createHash("sha256");
  const columns = columnsOf(value);
  if (columns === null) return hash.update(value).digest("hex");
  for (const [name, column] of columns) {
    hash.update(`${name}\0`);
    hash.update(typeof column[0] === "string" ? column.join("\n") : float64Bytes(column));
    hash.update("\0");
  }
  return hash.digest("hex");
}

function columnsOf(value) {
  if (value instanceof Uint8Array) return null;
  if (value instanceof NDArray) return [["", value.data]];
  if (value instanceof Float64Array) return [["", value]];
  if (value instanceof Table) return value.schema.fields.map((field) => [field.name, value.getChild(field.name).toArray()]);
  if (Array.isArray(value)) return Object.keys(value[0]).map((key) => [key, value.map((row) => row[key])]);
  return Object.entries(value).filter(([key]) => key !== "_rtype");
}

function float64Bytes(column) {
  const numbers = column instanceof Float64Array ? column : Float64Array.from(column, Number);
  return new Uint8Array(numbers.buffer, numbers.byteOffset, numbers.byteLength);
}

/**
 * What a stock hypha-rpc JS user does with an ndarray from Python before reading it: hypha-rpc
 * hands over its raw `{_rtype: "ndarray", _rvalue}` form, bytes at an odd offset, so a copy.
 */
function usableStock(value) {
  if (value?._rtype !== "ndarray") return value;
  const bytes = value._rvalue;
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

async function timed(call) {
  const started = performance.now();
  const value = await call();
  return [performance.now() - started, value];
}

/** Each mode's way of making the case's call, and of checking what the call produced. */
function calls({ payload, direction }, services, expected, kept) {
  const check = (mode, got) => {
    const want = mode === "floor" ? expected.floor_digest : expected.digest;
    if (got !== want) throw new Error(`${mode} ${payload} ${direction}: what arrived differs from the payload (digest ${got}, expected ${want})`);
  };
  if (direction === "call") {
    const echo = (mode) => ({
      call: () => services[mode].echo(SMALL_VALUE),
      verify: (value) => {
        if (value !== SMALL_VALUE) throw new Error(`${mode}: echo returned ${value}`);
      },
    });
    return Object.fromEntries(Object.keys(services).map((mode) => [mode, echo(mode)]));
  }
  const modes = {};
  for (const mode of ["stock", "hypha_arrow", "floor"]) {
    const service = services[mode === "floor" ? "hypha_arrow" : mode];
    modes[mode] = direction === "to_js"
      ? {
          call: mode === "floor" ? () => service.get_floor() : mode === "stock" ? async () => usableStock(await service.get()) : () => service.get(),
          verify: (value) => {
            check(mode, digest(value));
            kept[mode] = value;
          },
        }
      : {
          call: () => service.take(kept[mode]),
          verify: async () => check(mode, await service.received_digest()),
        };
  }
  return modes;
}

async function runCase(testCase, plan, services, kept) {
  const { payload, direction } = testCase;
  const expected = direction === "call" ? null : direction === "to_js" ? await services.hypha_arrow.prepare(payload) : kept.expected;
  if (direction === "to_js") kept.expected = expected;
  const modes = calls(testCase, services, expected, kept);
  const wanted = direction === "call" ? plan.small_call_repeats : plan.repeats;
  const counts = {};
  const times = {};
  const verified = {};
  for (const [mode, { call, verify }] of Object.entries(modes)) {
    const [took, value] = await timed(call); // warm-up, checked like every timed call
    await verify(value);
    verified[mode] = 1;
    times[mode] = [];
    counts[mode] = took * wanted < plan.repeats_cap_s * 1e3 ? wanted : Math.max(1, Math.floor((plan.repeats_cap_s * 1e3) / Math.max(took, 1e-6)));
  }
  for (let index = 0; index < Math.max(...Object.values(counts)); index++) {
    for (const [mode, { call, verify }] of Object.entries(modes)) {
      if (index >= counts[mode]) continue;
      const [took, value] = await timed(call);
      await verify(value);
      verified[mode]++;
      times[mode].push(took);
      if (counts[mode] <= 20 || (index + 1) % 50 === 0) {
        process.stderr.write(`  ${mode.padEnd(12)} ${`${payload} ${direction}`.padEnd(24)} ${index + 1}/${counts[mode]}  ${took.toFixed(2).padStart(10)} ms\n`);
      }
    }
  }
  if (direction === "to_js") (kept.sizes ??= {})[payload] = expected.frame_bytes;
  return Object.keys(modes).map((mode) => ({ payload, direction, mode, times_ms: times[mode], verified: verified[mode] }));
}

function versions() {
  const of = (name) => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), "utf8")).version;
  return { node: process.version, "hypha-rpc": of("hypha-rpc"), "apache-arrow": of("apache-arrow"), ws: of("ws") };
}

/** ws without permessage-deflate, as hypha-arrow's wrapper connects: the small call's JavaScript side alone. */
class WebSocketNoDeflate extends WebSocket {
  constructor(url, protocols, settings) {
    super(url, protocols, { ...settings, perMessageDeflate: false });
  }
}

async function main() {
  const plan = JSON.parse(readFileSync(0, "utf8"));
  globalThis.WebSocket = WebSocket;
  const config = { server_url: plan.url, method_timeout: plan.method_timeout, logger: null };
  const stock = await hyphaWebsocketClient.connectToServer(config);
  const arrow = await connectToServer(config);
  const stockNoDeflate = await hyphaWebsocketClient.connectToServer({ ...config, WebSocketClass: WebSocketNoDeflate });
  try {
    const services = { stock: await stock.getService(plan.services.stock), hypha_arrow: await arrow.getService(plan.services.hypha_arrow) };
    const jsOnly = { ...services, stock_no_deflate: await stockNoDeflate.getService(plan.services.stock), hypha_arrow_js_only: await arrow.getService(plan.services.stock) };
    const kept = {};
    const results = [];
    for (const testCase of plan.cases) results.push(...(await runCase(testCase, plan, testCase.direction === "call" ? jsOnly : services, kept)));
    writeFileSync(plan.report, JSON.stringify({ node: versions(), frame_bytes: kept.sizes ?? {}, results }));
  } finally {
    for (const client of [stock, arrow, stockNoDeflate]) await client.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
