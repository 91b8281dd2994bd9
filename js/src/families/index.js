/** The value families a decoder knows, by the kind their columns carry (section 4). */
import { DecodeError } from "../errors.js";
import { decodeArray, decodeTable } from "./arrow.js";
import { decodeList } from "./lists.js";
import { decodeNdarray } from "./ndarray.js";
import { decodeRecords } from "./records.js";

const BY_KIND = new Map([
  ["ndarray", decodeNdarray],
  ["list", decodeList],
  ["dataframe", decodeTable],
  ["series", decodeTable],
  ["table", decodeTable],
  ["record_batch", decodeTable],
  ["array", decodeArray],
  ["chunked_array", decodeArray],
  ["records", decodeRecords],
]);

/** Column `index`'s value; errors name the column's path in the message. */
export function decodeColumn(index, column, path, config) {
  const decodeKind = BY_KIND.get(column.kind);
  if (decodeKind === undefined) throw new DecodeError(`column ${index}: unknown kind ${JSON.stringify(column.kind)}`, formatPath(path));
  try {
    return decodeKind(column, config);
  } catch (error) {
    if (error instanceof DecodeError) throw new DecodeError(`column ${index} (${column.kind}): ${error.reason}`, formatPath(path));
    throw new DecodeError(`column ${index} (${column.kind}): ${error.name}: ${error.message}`, formatPath(path));
  }
}

/** `args[0]['table']`, as Python writes paths. */
export function formatPath(path) {
  return path.map((step, i) => (typeof step === "string" ? (i === 0 ? step : `['${step}']`) : `[${step instanceof Uint8Array ? `<${step.length} bytes>` : String(step)}]`)).join("");
}
