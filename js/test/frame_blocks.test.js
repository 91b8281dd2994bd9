/**
 * families/frame_blocks.js: a wide DataFrame from Python is a Table whose numeric columns are one
 * fixed_size_list block per dtype; it goes back to Python as the same DataFrame, and block
 * documents that do not fit the data are refused as Python refuses them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DecodeError, decode, encode } from "../src/index.js";
import { ORIGINS } from "../src/families/arrow.js";
import { inPython, pythonFrame } from "./support/python_frames.js";

const FRAME = `v = pd.DataFrame(np.arange(3 * 120, dtype="f8").reshape(3, 120), columns=[f"feature-{i}" for i in range(120)], index=pd.Index(["a", "b", "c"], name="row"))
v.insert(5, "flag", [True, False, True])
v.insert(7, "name", ["x", None, "z"])`;

test("a wide DataFrame is a Table of its blocks and goes back to Python as the same DataFrame", () => {
  const table = decode(pythonFrame(FRAME));
  const fields = table.schema.fields.map((f) => `${f.name}: ${f.type}`);
  assert.deepEqual(fields, ["0: LargeUtf8", "__index_level_0__: LargeUtf8", "__block_0__: FixedSizeList[120]<Float64>", "__block_1__: FixedSizeList[1]<Uint8>"]);
  assert.deepEqual([...table.getChild("__block_0__").get(1)].slice(0, 3), [120, 121, 122]);
  assert.deepEqual(ORIGINS.get(table).meta.blocks, [{ dtype: "<f8", columns: [[0, 5], [6, 7], [8, 122]] }, { dtype: "|b1", columns: [[5, 6]] }]);
  const out = inPython(encode(table), `
from hypha_arrow.testing import assert_same
${FRAME}
assert_same(w, v)
print(json.dumps([w.shape[1], w._mgr.nblocks]))`);
  assert.deepEqual(out, [122, 3]);
});

test("block documents that do not describe the blocks are refused", () => {
  const edits = [
    (meta) => { meta.blocks = "all"; },
    (meta) => { delete meta.labels; },
    (meta) => { meta.blocks[0].dtype = "<i8"; },
    (meta) => { meta.blocks[0].dtype = "<c16"; },
    (meta) => { meta.blocks[0].columns = [[0, 120]]; }, // 120 columns, but column 5 is the bool block's
    (meta) => { meta.blocks[0].columns = [[0, 119]]; },
    (meta) => { meta.blocks[1].columns = [[5, 6.5]]; },
    (meta) => { meta.blocks.reverse(); },
  ];
  for (const edit of edits) {
    const table = decode(pythonFrame(FRAME));
    const origin = ORIGINS.get(table);
    const meta = structuredClone(origin.meta);
    edit(meta);
    ORIGINS.set(table, { ...origin, meta });
    assert.throws(() => decode(encode(table)), DecodeError, edit.toString());
  }
});
