// The live channel client: one WebSocket per show, resumed after any drop with no event lost.
// Protocol: docs/events.md. Usage:
//
//   import { LiveClient } from "/static/js/live.js";
//   const live = new LiveClient(`ws://${location.hostname}:${livePort}/shows/${showId}/live`);
//   live.on("snapshot", (s) => renderAll(s));
//   live.on("product_pinned", (e) => showBanner(e));       // hold until video time reaches e.at
//   live.on("chat_message", (m) => appendMessage(m));      // insert m.text with textContent only
//   live.on("error", (e) => toast(e.message));
//   live.onstatus = (status) => badge(status);              // "connecting" | "live" | "reconnecting" | "refused"
//   live.connect();
//   await live.post("Does it come in blue?");              // resolves on ack, rejects with the error event
//   live.react("🔥");

const STOP_CODES = new Set([1008, 1009, 4403, 4404]); // retrying cannot help
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30000;

export class LiveClient {
  /** @param {string} url ws(s)://host:port/shows/<id>/live, with ?token=… when needed */
  constructor(url, { WebSocketImpl = globalThis.WebSocket } = {}) {
    this.url = url;
    this.WebSocketImpl = WebSocketImpl;
    this.lastSeq = null; // highest seq applied; sent on reconnect to resume
    this.viewer = null; // from the welcome event
    this.status = "idle";
    this.onstatus = null;
    this.handlers = new Map();
    this.pending = new Map(); // ref → {resolve, reject}
    this.nextRef = 1;
    this.socket = null;
    this.backoffMs = MIN_BACKOFF_MS;
    this.heartbeatMs = 15000;
    this.pingTimer = null;
    this.watchdog = null;
    this.reconnectTimer = null;
    this.closedByUs = false;
    this.onOnline = () => {
      if (this.status === "reconnecting") this.reconnectNow();
    };
  }

  /** Register a handler for an event type ("*" receives every event). Returns an unsubscribe. */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type).delete(handler);
  }

  /** Open the connection; it reconnects by itself until close() or a refusal. */
  connect() {
    this.closedByUs = false;
    globalThis.addEventListener?.("online", this.onOnline);
    this.open();
  }

  /** Close for good (leaving the page). */
  close() {
    this.closedByUs = true;
    globalThis.removeEventListener?.("online", this.onOnline);
    clearTimeout(this.reconnectTimer);
    this.stopTimers();
    this.socket?.close(1000, "bye");
    this.setStatus("idle");
  }

  /** Post a chat message; resolves with the ack, rejects with the error event. */
  post(text) {
    return this.request({ type: "chat_post", text });
  }

  /** Mark a message as a question for the host. */
  markQuestion(messageId) {
    return this.request({ type: "mark_question", message_id: messageId });
  }

  /** One reaction tap; the edge tallies taps, nothing comes back for it. */
  react(emoji) {
    this.send({ type: "react", emoji });
  }

  // -- internals ------------------------------------------------------------------------

  request(message) {
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...message, ref })) {
        reject({ type: "error", code: "unavailable", message: "Not connected; try again in a moment.", ref });
        return;
      }
      this.pending.set(ref, { resolve, reject });
    });
  }

  send(message) {
    if (this.socket?.readyState !== 1) return false;
    this.socket.send(JSON.stringify({ v: 1, ...message }));
    return true;
  }

  open() {
    this.setStatus(this.lastSeq === null ? "connecting" : "reconnecting");
    const socket = new this.WebSocketImpl(this.url);
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "hello", v: 1, last_seq: this.lastSeq }));
      this.armWatchdog();
    };
    socket.onmessage = (message) => {
      if (socket !== this.socket) return;
      this.armWatchdog();
      let batch;
      try {
        batch = JSON.parse(message.data);
      } catch {
        return;
      }
      for (const event of Array.isArray(batch) ? batch : [batch]) this.apply(event);
    };
    socket.onclose = (closing) => {
      if (socket !== this.socket) return;
      this.stopTimers();
      this.failPending();
      if (this.closedByUs) return;
      if (STOP_CODES.has(closing.code)) {
        this.setStatus("refused");
        return;
      }
      const floor = closing.code === 4429 ? 5000 : 0;
      this.scheduleReconnect(floor);
    };
    socket.onerror = () => {}; // onclose follows and decides
  }

  apply(event) {
    if (event.type === "snapshot") {
      this.lastSeq = event.seq;
    } else if (typeof event.seq === "number") {
      // Duplicates happen around a resume or a snapshot; a higher seq is always newer.
      if (this.lastSeq !== null && event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
    }
    if (event.type === "welcome") {
      this.viewer = event.viewer;
      this.heartbeatMs = event.heartbeat_s * 1000;
      this.backoffMs = MIN_BACKOFF_MS;
      this.startPings();
      this.setStatus("live");
    } else if (event.type === "ack" || (event.type === "error" && event.ref)) {
      const waiting = this.pending.get(event.ref);
      if (waiting) {
        this.pending.delete(event.ref);
        (event.type === "ack" ? waiting.resolve : waiting.reject)(event);
      }
    }
    for (const key of [event.type, "*"]) {
      for (const handler of this.handlers.get(key) ?? []) {
        try {
          handler(event);
        } catch (problem) {
          console.error("live handler failed", event.type, problem);
        }
      }
    }
  }

  startPings() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: "ping" }), this.heartbeatMs);
  }

  armWatchdog() {
    // Two heartbeats of silence: the network is gone even if the socket has not noticed.
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.socket?.close(4000, "silent"), this.heartbeatMs * 2.5);
  }

  stopTimers() {
    clearInterval(this.pingTimer);
    clearTimeout(this.watchdog);
  }

  failPending() {
    for (const [ref, waiting] of this.pending) {
      waiting.reject({ type: "error", code: "unavailable", message: "Connection lost; try again.", ref });
    }
    this.pending.clear();
  }

  scheduleReconnect(floorMs) {
    this.setStatus("reconnecting");
    // Full jitter: thousands of viewers of a dead instance must not return in one wave.
    const delay = Math.max(floorMs, Math.random() * this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  reconnectNow() {
    clearTimeout(this.reconnectTimer);
    this.open();
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.onstatus?.(status);
  }
}
