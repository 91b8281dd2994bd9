/**
 * What reached a socket, for the end-to-end tests: the ws class with every received frame
 * recorded, and whether a frame is one only a hypha_arrow peer could read.
 */
import WebSocket from "ws";
import { decodeMulti } from "@msgpack/msgpack";

/** The ws class, with every frame its sockets receive pushed to `into`. */
export function recording(into) {
  return class extends WebSocket {
    set onmessage(handler) {
      super.onmessage = handler && ((event) => {
        into.push(new Uint8Array(event.data));
        handler(event);
      });
    }

    get onmessage() {
      return super.onmessage;
    }
  };
}

const TEXT = new TextDecoder("latin1");

/** Whether `frame` is hybrid (bytes after its two msgpack objects, a column placeholder) or a chunk under a `~ha~` key. */
export function onlyHybridPeersRead(frame) {
  if (TEXT.decode(frame).includes("hypha_arrow column")) return true;
  let objects;
  try {
    objects = [...decodeMulti(frame)];
  } catch {
    return true;
  }
  const [header, extra] = objects;
  const key = String(header?.method).includes("message_cache.") ? extra?.args?.[0] : "";
  return objects.length > 2 || String(key).includes("~ha~");
}
