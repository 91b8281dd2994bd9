/**
 * hypha-arrow for JavaScript: hypha-rpc frames with their bulky values as an Arrow IPC
 * section, the contract of docs/wire-format.md shared with the Python package.
 */
export { decode, decodeMessage } from "./framing.js";
export { inspect } from "./inspect.js";
export { encode, encodeMessage } from "./encoding.js";
export { DecodeError, EncodeError, HyphaArrowError, TransferRefused } from "./errors.js";
export { NDArray } from "./ndarray.js";
export { DEFAULTS as defaultOptions } from "./options.js";
export { Decimal, NA, Tuple } from "./cells.js";
export { connectToServer } from "./rpc/connect.js";
