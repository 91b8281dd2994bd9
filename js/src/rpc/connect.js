/**
 * `connectToServer(config, { arrow })`: hypha-rpc JS's own `connectToServer`, through the
 * WebSocket of `websocket.js` and with a codec that gives hypha-rpc's small-array form back
 * as `NDArray`s.
 */
import { hyphaWebsocketClient } from "hypha-rpc";
import { fromStockForms } from "../stock_forms.js";
import { encodeOptions } from "../options.js";
import { Outbox } from "./sending.js";
import { Peers, arrowWebSocket } from "./websocket.js";

const WHOLE_FRAMES = 2 ** 52;

/**
 * @param {object} [config] hypha-rpc's own `connectToServer` config, unchanged
 * @param {{arrow?: object}} [settings] `arrow`: this package's options (`binaryThreshold`, `compression`, ...)
 */
export async function connectToServer(config = {}, { arrow } = {}) {
  const options = encodeOptions(arrow); // checked before connecting: a bad option fails here, not at the first send
  const Base = config.WebSocketClass ?? globalThis.WebSocket ?? (await nodeWebSocket());
  if (!Base) throw new Error("no WebSocket class: pass config.WebSocketClass");
  const logger = config.logger === null ? null : config.logger ?? console;
  const outbox = new Outbox(options);
  const warn = (error) => logger?.warn?.(`hypha-arrow refused a frame: ${error.message}`);
  const identity = { self: null };
  const peers = new Peers();
  const WebSocketClass = arrowWebSocket(Base, options, warn, outbox, peers, identity);
  // hypha-rpc never chunks itself: every frame reaches the wrapper whole, which chunks each
  // for its target (a frame hypha-rpc chunked would carry its values' tokens inside its chunks)
  const server = await hyphaWebsocketClient.connectToServer({ ...config, WebSocketClass, long_message_chunk_size: WHOLE_FRAMES });
  identity.self = `${server.config.workspace}/${server.config.client_id}`;
  outbox.self = identity.self;
  server.rpc.on("client_disconnected", (event) => {
    const { id, workspace } = event?.data ?? {};
    if (typeof id === "string") peers.left(workspace ? `${workspace}/${id}` : id);
  });
  for (const codec of outbox.codecs((form) => fromStockForms({ ...form, _rtype: "ndarray" }))) await server.registerCodec(codec);
  return server;
}

/**
 * Node 20 has no global WebSocket, and hypha-rpc JS reads `WebSocket.OPEN` from the global
 * scope: what every Node user of hypha-rpc sets by hand, done once here with the `ws` package.
 */
async function nodeWebSocket() {
  if (typeof process === "undefined" || !process.versions?.node) return undefined;
  const { default: WebSocket } = await import("ws");
  globalThis.WebSocket ??= WebSocket;
  return WebSocket;
}
