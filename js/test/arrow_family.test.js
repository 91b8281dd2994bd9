/**
 * families/arrow.js: a DataFrame decoded in JavaScript goes back with what its columns said
 * beyond their Arrow data; here pandas' extension types (IntervalIndex, Period and Interval
 * columns), whose names sit in field metadata.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode, encode } from "../src/index.js";
import { inPython, pythonFrame } from "./support/python_frames.js";

const FRAME = `v = pd.DataFrame({"p": pd.period_range("2020-01", periods=3, freq="M"), "i": pd.arrays.IntervalArray.from_breaks([0.0, 0.5, 1.5, 3.0])},
                 index=pd.interval_range(0, 3))`;

test("a DataFrame with pandas' interval and period types goes back with their extension names", () => {
  const table = decode(pythonFrame(FRAME));
  assert.deepEqual(table.schema.fields.map((f) => f.metadata.get("ARROW:extension:name") ?? null), ["pandas.period", "pandas.interval", "pandas.interval"]);
  const out = inPython(encode(table), `
import pandas.core.arrays.arrow.extension_types  # registers pandas' types with pyarrow (see below)
from hypha_arrow.testing import assert_same
${FRAME}
w = hypha_arrow.decode(open(FRAME, "rb").read())
assert_same(w, v)
print(json.dumps([type(w.index).__name__, str(w["p"].dtype), str(w["i"].dtype)]))`);
  assert.deepEqual(out, ["IntervalIndex", "period[M]", "interval[float64, right]"]);
});

// A fresh Python process reads pandas.interval as a plain struct (an object Index of dicts)
// until pandas has registered its Arrow types; it does so for Python's own frame too.
test("in a Python process that has not registered pandas' types, JavaScript's frame reads as Python's own", () => {
  const original = pythonFrame(FRAME);
  const mine = join(tmpdir(), `hypha-arrow-interval-${process.pid}.bin`);
  writeFileSync(mine, original);
  const out = inPython(encode(decode(original)), `
from hypha_arrow.testing import assert_same
assert_same(w, hypha_arrow.decode(open(${JSON.stringify(mine)}, "rb").read()))
print(json.dumps("same"))`);
  assert.equal(out, "same");
});
