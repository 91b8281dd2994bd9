/**
 * The conformance corpus (conformance/): every valid frame decodes to its expectation, every
 * malformed one is refused with DecodeError and nothing else.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DecodeError, decode, decodeMessage } from "../src/index.js";
import { mismatch } from "./neutral.js";

const CORPUS = new URL("../../conformance/", import.meta.url);
const cases = JSON.parse(readFileSync(new URL("cases.json", CORPUS), "utf8"));

for (const spec of cases) {
  test(spec.name, () => {
    const bytes = new Uint8Array(readFileSync(new URL(spec.file, CORPUS)));
    const options = spec.config?.records_as === "arrow" ? { recordsAs: "table" } : {};
    const read = () => (spec.kind === "message" ? decodeMessage(bytes, options) : decode(bytes, options));
    if (spec.error !== undefined) {
      assert.throws(read, DecodeError, spec.error);
      return;
    }
    const value = read();
    const actual = spec.kind === "message" ? { header: value[0], extra: value[1] } : value;
    assert.equal(mismatch(spec.expect, actual), null);
  });
}
