/**
 * families/array_column.js: Python's lists of small same-dtype arrays, and record keys of one
 * array per row, arrive as one `NDArray` per array with its dtype, shape, order and values.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DecodeError, NDArray, decode, encode } from "../src/index.js";
import { inPython, pythonFrame } from "./support/python_frames.js";

test("a list of float64 arrays with a None is one NDArray per array, values in order", () => {
  const arrays = decode(pythonFrame("v = [np.arange(i, i + 128, dtype='<f8') for i in range(50)] + [None]"));
  assert.equal(arrays.length, 51);
  assert.equal(arrays[50], null);
  arrays.slice(0, 50).forEach((array, i) => {
    assert.ok(array instanceof NDArray);
    assert.deepEqual([array.dtype, array.shape, array.order], ["<f8", [128], "C"]);
    assert.deepEqual(Array.from(array.data), Array.from({ length: 128 }, (_, k) => i + k));
  });
  assert.notEqual(arrays[0].data.buffer, arrays[1].data.buffer, "each array owns its elements");
});

test("big-endian, Fortran-ordered, bool and string arrays keep their dtype and order", () => {
  const [swapped, fortran, flags, words] = decode(pythonFrame(`v = [
    [(np.arange(6).reshape(2, 3) + i).astype('>i2') for i in range(100)],
    [np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)) for i in range(100)],
    [np.array([True, False, i % 2 == 0]) for i in range(400)],
    [np.array(['ab', 'c'], dtype='>U2') for i in range(100)],
]`));
  assert.deepEqual([swapped[7].dtype, swapped[7].shape, Array.from(swapped[7].data)], [">i2", [2, 3], [7, 8, 9, 10, 11, 12]]);
  assert.deepEqual([fortran[0].dtype, fortran[0].order, Array.from(fortran[0].data)], ["<f4", "F", [0, 3, 1, 4, 2, 5]]);
  assert.deepEqual([flags[1].dtype, Array.from(flags[1].data)], ["|b1", [1, 0, 0]]);
  assert.deepEqual([words[3].dtype, words[3].data], [">U2", ["ab", "c"]]);
});

test("records with an array key: each row holds its own NDArray, None and missing keys kept", () => {
  const rows = decode(pythonFrame(`v = [{"id": i, "embedding": np.arange(i, i + 16, dtype='<i8')} for i in range(300)]
v[3]["embedding"] = None
del v[5]["embedding"]`));
  assert.equal(rows[3].embedding, null);
  assert.deepEqual(Object.keys(rows[5]), ["id"]);
  assert.deepEqual([rows[9].embedding.dtype, rows[9].embedding.shape, rows[9].embedding.data[0]], ["<i8", [16], 9n]);
});

test("arrays decoded from an array column go back to Python as themselves", () => {
  const value = decode(pythonFrame("v = {'list': [np.arange(i, i + 128, dtype='<f8') for i in range(50)], 'rows': [{'e': (np.arange(4) + i).astype('>u2')} for i in range(300)]}"));
  const same = inPython(encode(value), `
from hypha_arrow.testing import assert_same
assert_same({'list': [np.arange(i, i + 128, dtype='<f8') for i in range(50)], 'rows': [{'e': (np.arange(4) + i).astype('>u2')} for i in range(300)]}, w)
print("true")`);
  assert.equal(same, true);
});

test("an array column whose width disagrees with its shape is refused", () => {
  const frame = pythonFrame("v = [np.zeros(16) for _ in range(100)]");
  const text = new TextDecoder("latin1").decode(frame);
  const at = text.indexOf('"shape": [16]');
  assert.ok(at > 0);
  const bad = frame.slice();
  bad.set(new TextEncoder().encode('"shape": [15]'), at);
  assert.throws(() => decode(bad), (error) => error instanceof DecodeError && /does not hold <f8 arrays of shape \[15\]/.test(error.message));
});
