/**
 * The inflating worker (a Node `worker_threads` Worker, started by `inflater.js`): decodes a
 * frame with the event loop's own `decodeMessage`, guard and limits, keeps what its compressed
 * buffers inflate to, and sends those back with the frame, both transferred, not copied. The
 * decoded values stay here: the event loop decodes the frame again, given these buffers.
 */
import { parentPort } from "node:worker_threads";
import { HyphaArrowError } from "../errors.js";
import { decodeMessage } from "../framing.js";
import { recording } from "./inflation_hook.js";

parentPort.on("message", ({ id, frame, options }) => {
  let reply;
  try {
    const { inflated } = recording(() => decodeMessage(frame, options));
    reply = { id, frame, inflated };
  } catch (error) {
    const known = error instanceof HyphaArrowError;
    reply = { id, frame, error: { name: known ? error.name : "Error", reason: known ? error.reason : String(error?.stack ?? error), path: known ? error.path : null } };
  }
  const buffers = new Set([frame.buffer, ...(reply.inflated ?? []).map(({ output }) => output.buffer)]);
  parentPort.postMessage(reply, [...buffers]);
});
