/**
 * Mutated frames of every valid conformance case: decoding (and inspecting) either returns or
 * throws DecodeError, never another exception, never hangs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DecodeError, decode, decodeMessage, inspect } from "../src/index.js";

const CORPUS = new URL("../../conformance/", import.meta.url);
const cases = JSON.parse(readFileSync(new URL("cases.json", CORPUS), "utf8")).filter((c) => c.error === undefined);
const MUTATIONS = Number(process.env.HYPHA_ARROW_FUZZ ?? 200);

/** A small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(bytes, next) {
  const out = new Uint8Array(bytes);
  const kind = Math.floor(next() * 4);
  const at = Math.floor(next() * out.length);
  if (kind === 0) out[at] ^= 1 << Math.floor(next() * 8);
  else if (kind === 1) out[at] = [0, 0xff, 0x7f, 0x80][Math.floor(next() * 4)];
  else if (kind === 2) return out.subarray(0, at);
  else for (let k = 0; k < 8 && at + k < out.length; k++) out[at + k] = Math.floor(next() * 256);
  return out;
}

/** Every failure of `read` on mutated frames that is not a DecodeError. */
function outsideDecodeError(read) {
  const failures = [];
  cases.forEach((spec, index) => {
    const original = new Uint8Array(readFileSync(new URL(spec.file, CORPUS)));
    const next = random(index + 1);
    for (let m = 0; m < MUTATIONS; m++) {
      const bytes = mutate(original, next);
      try {
        read(spec, bytes);
      } catch (error) {
        if (!(error instanceof DecodeError)) failures.push(`${spec.name} #${m}: ${error.name}: ${error.message}`);
      }
    }
  });
  return failures;
}

test(`mutated frames are decoded or refused with DecodeError (${MUTATIONS} per case)`, () => {
  const failures = outsideDecodeError((spec, bytes) => (spec.kind === "message" ? decodeMessage(bytes) : decode(bytes)));
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} mutated frames raised something else than DecodeError`);
});

test(`mutated frames are inspected or refused with DecodeError (${MUTATIONS} per case)`, () => {
  const failures = outsideDecodeError((_spec, bytes) => inspect(bytes));
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} mutated frames raised something else than DecodeError`);
});
