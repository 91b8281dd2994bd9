/**
 * The Arrow section's body compression: the codecs apache-arrow reads and writes through its
 * `compressionRegistry`, with the checks a hostile frame needs, and the rule for `"auto"`
 * (Python's `hypha_arrow/compression.py`).
 *
 * LZ4 frames are read and written by lz4js; zstd is only read (fzstd has no encoder), so an
 * encoder given `"zstd"` is refused at its options and `"auto"` compresses with LZ4 where
 * Python's would use zstd. lz4js has no levels: `compressionLevel` is checked, then unused.
 */
import { compressionRegistry, CompressionType } from "apache-arrow";
import * as lz4 from "lz4js";
import { decompress as zstdDecompress } from "fzstd";
import { DecodeError } from "./errors.js";
import { batchBuffers } from "./ipc_guard.js";
import { uses } from "./options.js";

const LZ4_MAGIC = 0x184d2204;
const AUTO_RATIO = 0.7;
/** Below this a section's compression saves less than a message's fixed costs (as in Python). */
const AUTO_MIN_BYTES = 64 * 1024;
const SAMPLE_SLICES = 4;
const SAMPLE_BYTES = 16 * 1024;

/** The sizes of the buffers compressed while `writeCompressed` writes a stream, in order. */
let compressing = null;

compressionRegistry.set(CompressionType.LZ4_FRAME, {
  encode: (data) => {
    compressing?.push(data.length);
    return lz4.compress(data);
  },
  decode: (data) => inflated(data, (size) => lz4.decompress(checkedLz4Frame(data), size)),
});
compressionRegistry.set(CompressionType.ZSTD, { decode: (data) => inflated(data, (size) => zstdDecompress(data, new Uint8Array(size))) });

const CODECS = { lz4: CompressionType.LZ4_FRAME };
const NOT_COMPRESSED = -1n;

/**
 * The IPC stream `write(compressionType)` produces with `codec`, each compressed buffer's
 * length prefix set to its uncompressed size as the Arrow format says. apache-arrow 21's
 * writer puts the compressed size there (`_compressBodyBuffers`), which pyarrow refuses
 * ("Lz4 decompression buffer too small") and this package's reader too. The codec is called
 * once per non-empty buffer, in the order the stream lists them, so the sizes line up.
 * @param {string} codec a name `choose` returned
 * @param {(compressionType: number) => Uint8Array} write
 */
export function writeCompressed(codec, write) {
  compressing = [];
  let stream;
  let sizes;
  try {
    stream = write(CODECS[codec]);
  } finally {
    sizes = compressing;
    compressing = null;
  }
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const nonEmpty = batchBuffers(stream).filter((buffer) => buffer.length > 0);
  if (nonEmpty.length !== sizes.length) throw new Error(`internal: ${sizes.length} buffers compressed, the stream lists ${nonEmpty.length}`);
  nonEmpty.forEach((buffer, i) => {
    if (view.getBigInt64(buffer.offset, true) !== NOT_COMPRESSED) view.setBigInt64(buffer.offset, BigInt(sizes[i]), true);
  });
  return stream;
}

/**
 * The codec for a section made of `buffers` (`"lz4"`), or null to send it plain. `"auto"`
 * probes a few evenly spread slices with LZ4 and compresses only when they shrink to 70% or less.
 * @param {object} options resolved encode options
 * @param {Uint8Array[]} buffers the section's data, laid end to end
 */
export function choose(options, buffers) {
  const algorithm = options.compression;
  if (algorithm === null || !uses(options, "compression")) return null;
  if (algorithm !== "auto") return algorithm;
  const total = buffers.reduce((n, b) => n + b.length, 0);
  if (total < AUTO_MIN_BYTES) return null;
  const samples = slices(buffers, total);
  const raw = samples.reduce((n, s) => n + s.length, 0);
  const packed = samples.reduce((n, s) => n + lz4.compress(s).length, 0);
  return packed <= AUTO_RATIO * raw ? "lz4" : null;
}

/** `SAMPLE_SLICES` slices around evenly spaced points of the buffers laid end to end. */
function slices(buffers, total) {
  const points = Array.from({ length: SAMPLE_SLICES }, (_, i) => Math.floor((total * (2 * i + 1)) / (2 * SAMPLE_SLICES)));
  const samples = [];
  let start = 0;
  for (const buffer of buffers) {
    const end = start + buffer.length;
    for (const point of points) {
      if (start <= point && point < end) {
        const offset = Math.max(0, Math.min(point - start - SAMPLE_BYTES / 2, buffer.length - SAMPLE_BYTES));
        samples.push(buffer.subarray(offset, offset + Math.min(SAMPLE_BYTES, buffer.length)));
      }
    }
    start = end;
  }
  return samples;
}

/**
 * An LZ4 frame whose blocks all lie inside it: lz4js reads a block of whatever size the frame
 * claims, and past the end of its input it reads zeros for as long as the claim says (seconds
 * for one mutated byte).
 */
function checkedLz4Frame(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (what) => {
    throw new DecodeError(`compressed Arrow buffer is not a valid LZ4 frame: ${what}`);
  };
  if (data.length < 7 || view.getUint32(0, true) !== LZ4_MAGIC) fail("no magic number");
  const flags = data[4];
  if (flags >> 6 !== 1) fail(`version ${flags >> 6}`);
  let pos = 6 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0) + 1;
  const blockChecksum = flags & 0x10 ? 4 : 0;
  while (true) {
    if (pos + 4 > data.length) fail("truncated");
    const size = view.getUint32(pos, true) & 0x7fffffff;
    pos += 4;
    if (size === 0) break;
    if (size + blockChecksum > data.length - pos) fail(`a block of ${size} bytes runs past the frame`);
    pos += size + blockChecksum;
  }
  if (pos + (flags & 0x04 ? 4 : 0) > data.length) fail("truncated");
  return data;
}

/**
 * A compressed buffer inflated into exactly its declared size (the guard bounded it), aligned
 * for apache-arrow's typed views. apache-arrow hands the codec the bytes after the buffer's
 * 8-byte length prefix, as a view of the body, so the prefix is read from just before them:
 * without it lz4js sizes its output from the frame's own header, which a hostile frame sets.
 */
function inflated(data, inflate) {
  if (data.byteOffset < 8) throw new DecodeError("compressed Arrow buffer without its length prefix");
  const declared = Number(new DataView(data.buffer, data.byteOffset - 8, 8).getBigInt64(0, true));
  let out;
  try {
    out = inflate(declared);
  } catch (error) {
    throw new DecodeError(`compressed Arrow buffer does not inflate: ${error.message}`);
  }
  if (out.length !== declared) throw new DecodeError(`compressed Arrow buffer inflates to ${out.length} bytes, it declares ${declared}`);
  if (out.byteOffset % 8 === 0) return out;
  const copy = new Uint8Array(out.length);
  copy.set(out);
  return copy;
}
