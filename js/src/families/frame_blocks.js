/**
 * The block layout of a wide DataFrame (section 4.2, JSON key `blocks`): the struct's last
 * children are `fixed_size_list<T>[k]` blocks, one per numeric dtype, each row holding its
 * `k` columns' values. The Table keeps them as they are (so it goes back to Python as the same
 * DataFrame); this checks them as the Python decoder does, so a frame one refuses, both refuse.
 */
import { Type } from "apache-arrow";
import { DecodeError } from "../errors.js";
import { pyarrowType } from "../arrow_types.js";

/** numpy `dtype.str` of a block → pyarrow's name of its values (bool travels as its bytes). */
const BLOCK_VALUES = {
  "|b1": "uint8", "|i1": "int8", "<i2": "int16", "<i4": "int32", "<i8": "int64",
  "|u1": "uint8", "<u2": "uint16", "<u4": "uint32", "<u8": "uint64", "<f2": "halffloat", "<f4": "float", "<f8": "double",
};

/** Throws DecodeError unless `meta.blocks` describes the last children of `data` (a struct's Data) exactly. */
export function checkBlocks(meta, fields, data, metadata) {
  const blocks = meta.blocks;
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > fields.length || !("labels" in meta)) {
    throw new DecodeError(`invalid frame blocks ${JSON.stringify(blocks)?.slice(0, 100)} for ${fields.length} children`);
  }
  const first = fields.length - blocks.length;
  const children = data.children.slice(first);
  const widths = children.map((child) => {
    if (child.type.typeId !== Type.FixedSizeList || child.length === 0) throw new DecodeError(`a frame block must be a fixed_size_list with rows, got ${pyarrowType(child.type)} x ${child.length}`);
    return child.type.listSize;
  });
  const taken = new Uint8Array(first - indexColumns(metadata) + widths.reduce((a, b) => a + b, 0));
  blocks.forEach((block, k) => {
    const width = widths[k];
    const values = BLOCK_VALUES[block?.dtype];
    const runs = block?.columns;
    if (values === undefined || !Array.isArray(runs)) throw new DecodeError(`invalid frame block ${JSON.stringify(block)?.slice(0, 100)}`);
    if (!runs.every((run) => Array.isArray(run) && run.length === 2 && run.every(Number.isSafeInteger) && 0 <= run[0] && run[0] < run[1] && run[1] <= taken.length)) {
      throw new DecodeError(`invalid frame block columns ${JSON.stringify(runs).slice(0, 100)}`);
    }
    if (runs.reduce((n, [start, stop]) => n + stop - start, 0) !== width) throw new DecodeError(`frame block columns ${JSON.stringify(runs).slice(0, 100)} are not its ${width} columns`);
    for (const [start, stop] of runs) taken.fill(1, start, stop);
    const child = children[k];
    const items = child.children[0];
    if (pyarrowType(items.type) !== values || child.nullCount > 0 || items.nullCount > 0) throw new DecodeError(`frame block of ${block.dtype} cannot be ${pyarrowType(child.type)} with nulls`);
    if (block.dtype === "|b1" && items.values.subarray(items.offset, items.offset + items.length).some((byte) => byte > 1)) {
      throw new DecodeError("frame block of bool holds a byte other than 0 and 1");
    }
  });
  if (taken.reduce((n, bit) => n + bit, 0) !== widths.reduce((a, b) => a + b, 0)) throw new DecodeError("frame blocks repeat a column");
}

/** The index columns among the struct's children, as pyarrow's pandas metadata lists them (a RangeIndex is no column). */
function indexColumns(metadata) {
  let pandas;
  try {
    pandas = JSON.parse(metadata.get("pandas") ?? "{}");
  } catch {
    throw new DecodeError("a frame's pandas metadata is not JSON");
  }
  const index = Array.isArray(pandas?.index_columns) ? pandas.index_columns : [];
  return index.filter((entry) => typeof entry === "string").length;
}
