/**
 * Frames from each sender handled in the order they came, without making other senders wait
 * (the port of Python's `hypha_arrow/rpc/inbox.py`).
 *
 * A frame whose handling has to wait (its section inflating in a worker, `inflater.js`) makes
 * its sender busy: that sender's later frames queue behind it, in order, while other senders'
 * frames are handled at once. The bytes of a busy sender's frames count against its receive
 * budgets until handled, so queueing cannot pin more than `maxPendingBytesPerSender`.
 */
import { TransferRefused } from "../errors.js";

/** One connection's queues, per sender. */
export class Inbox {
  /**
   * @param {{overBudget: (sender: string, bytes: number) => string | null, count: (sender: string, bytes: number) => void}} budgets
   *   which budget `bytes` more from `sender` would exceed (or null), and counting bytes held (or freed, negative)
   */
  constructor(budgets) {
    this.budgets = budgets;
    this.queues = new Map(); // sender -> [{handle, bytes}], the first being handled now
  }

  /**
   * Handle a frame of `bytes` from `sender`: `handle()` now when the sender is not busy, else
   * after its earlier frames. `handle` returns a Promise when its work goes on, and the sender
   * is busy until it settles. Throws `TransferRefused` when the frame would have to wait over budget.
   * @param {string} sender
   * @param {number} bytes
   * @param {() => void | Promise<void>} handle
   */
  arrive(sender, bytes, handle) {
    const queue = this.queues.get(sender);
    if (queue) {
      const over = this.budgets.overBudget(sender, bytes);
      if (over !== null) throw new TransferRefused(`refused: a ${bytes}-byte frame waiting its turn: ${over}`);
      this.budgets.count(sender, bytes);
      queue.push({ handle, bytes });
      return;
    }
    const pending = handle();
    if (!(pending instanceof Promise)) return;
    this.budgets.count(sender, bytes); // the frame being handled counts too, over a budget or not: it is here
    const started = [{ handle: () => pending, bytes }];
    this.queues.set(sender, started);
    this.work(sender, started);
  }

  async work(sender, queue) {
    while (queue.length) {
      const { handle, bytes } = queue[0];
      try {
        await handle();
      } catch {
        // each frame's handling reports its own errors
      } finally {
        if (this.queues.get(sender) === queue) {
          queue.shift();
          this.budgets.count(sender, -bytes);
        }
      }
    }
    if (this.queues.get(sender) === queue) this.queues.delete(sender);
  }

  /** The connection closed: frames still waiting are dropped, and no longer count. */
  close() {
    for (const [sender, queue] of this.queues) {
      for (const { bytes } of queue) this.budgets.count(sender, -bytes);
      queue.length = 0;
    }
    this.queues.clear();
  }
}
