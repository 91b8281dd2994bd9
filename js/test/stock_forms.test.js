/**
 * hypha-rpc's own array form (`stock_forms.js`): Python's Fortran arrays arrive with every
 * element in place, and hostile forms are refused with a DecodeError naming where they are.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { encode as packed } from "@msgpack/msgpack";
import { DecodeError, decode } from "../src/index.js";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";

/** The frame Python's encoder writes for the expression `value` (numpy as np). */
function fromPython(value) {
  return new Uint8Array(execFileSync(PYTHON, ["-c", `import sys, numpy as np, hypha_arrow\nsys.stdout.buffer.write(hypha_arrow.encode(${value}))`]));
}

/** Where the element at C position `c` of an array of `shape` sits in Fortran order. */
function fortranPosition(c, shape) {
  let f = 0;
  let stride = 1;
  const index = [];
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = c % shape[axis];
    c = Math.floor(c / shape[axis]);
  }
  for (let axis = 0; axis < shape.length; axis++) {
    f += index[axis] * stride;
    stride *= shape[axis];
  }
  return f;
}

test("Fortran arrays from Python, with and without dimensions of size 1, hold each element at its Fortran position", () => {
  const shapes = [[2, 3], [2, 1, 3, 4], [1, 1, 5], [3, 1], [1, 2, 1, 2, 1, 3]];
  const frame = fromPython(`[np.asfortranarray(np.arange(int(np.prod(s)), dtype=np.int32).reshape(s)) for s in ${JSON.stringify(shapes)}]`);
  const arrays = decode(frame);
  shapes.forEach((shape, k) => {
    const array = arrays[k];
    assert.deepEqual(array.shape, shape);
    // numpy calls an array with at most one dimension over 1 C-contiguous too, and Python sends it so
    const fortran = shape.filter((n) => n > 1).length > 1;
    assert.equal(array.order, fortran ? "F" : "C");
    for (let c = 0; c < array.size; c++) assert.equal(array.data[fortran ? fortranPosition(c, shape) : c], c, `shape ${shape}, element ${c}`);
  });
});

test("a form with more than numpy's 64 dimensions is refused at once, however large (re-laying it took a minute)", () => {
  const shape = [...new Array(99_999).fill(1), 400_000];
  const frame = packed({ _rtype: "ndarray", _rvalue: new Uint8Array(400_000), _rshape: shape, _rdtype: "uint8", _rorder: "F" });
  const start = performance.now();
  assert.throws(() => decode(frame), (error) => error instanceof DecodeError && /100000 dimensions, numpy allows at most 64/.test(error.message) && error.path === "value");
  assert.ok(performance.now() - start < 1000, `took ${performance.now() - start} ms`);
});

test("a form numpy would not rebuild is refused with a DecodeError naming its path", () => {
  const form = (shape, rvalue, dtype = "float64") => ({ _rtype: "ndarray", _rvalue: rvalue, _rshape: shape, _rdtype: dtype });
  for (const [shape, reason] of [
    [["1"], /non-negative integers/],
    [[-1, -1], /non-negative integers/],
    [[2 ** 40, 2 ** 40, 0], /larger than numpy's maximum array size/],
    [[1.5], /non-negative integers/],
  ]) {
    assert.throws(() => decode(packed({ a: [1, form(shape, new Uint8Array(shape.includes(0) ? 0 : 8))] })), (error) => error instanceof DecodeError && reason.test(error.reason) && error.path === "value['a'][1]", JSON.stringify(shape));
  }
  assert.equal(decode(packed({ a: form([2 ** 31, 2 ** 31, 0], new Uint8Array(0), "uint8") })).a.size, 0, "numpy takes what fits int64, zero-size arrays included");
  assert.throws(() => decode(packed({ a: form([2 ** 31, 2 ** 31, 0], new Uint8Array(0)) })), /larger than numpy's maximum/, "not with 8-byte elements");
});
