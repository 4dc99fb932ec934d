/**
 * realtime.js — the reference JavaScript client of the marketplace's WebSocket protocol v1
 * (DESIGN.md §3, docs/asyncapi.yaml, realtime/consumers.py). One ES module, no dependencies, no
 * build step; it runs in browsers (and in any runtime with WebSocket, fetch and TextEncoder).
 *
 * ── Quick start ────────────────────────────────────────────────────────────────────────────────
 *
 *   import { AuthSession, RealtimeClient } from "/static/console/realtime.js";
 *
 *   const session = await AuthSession.signIn({ email, password });      // POST /api/v1/auth/token/
 *   const rt = new RealtimeClient({ auth: session });                    // url defaults to /ws/ of this host
 *   await rt.connect();                                                  // open + auth frame (token never in the URL)
 *
 *   const sub = rt.subscribe(`cart:${session.userId}`, {
 *     snapshot(cart, info) { render(cart); },   // fresh state: REPLACE yours (info: {seq, recovered})
 *     event(ev) { if (ev.type === "cart.updated") render(ev.data); },   // ev: {topic, seq, type, data, ts, ephemeral?}
 *     gap(info) {},                             // {topic, expected, got}: the client resyncs by itself
 *     revoked(reason) {},                       // the app ended your access (subscription.revoked)
 *     error(err) {},                            // the subscribe was refused (err.code: forbidden, unknown_topic, …)
 *   });
 *   await sub.ready;                            // resolves with the first subscribe reply's data
 *
 *   try {
 *     const cart = await rt.command(`cart:${session.userId}`, "add_item", { product_id, quantity: 1 });
 *   } catch (err) {                             // err instanceof RealtimeError
 *     console.log(err.code, err.detail);        // e.g. "insufficient_stock"; err.retryAfterMs on rate_limited
 *   }
 *   sub.unsubscribe(); rt.close(); await session.signOut();
 *
 * ── AuthSession: REST access with a JWT pair ──────────────────────────────────────────────────────
 *
 *   AuthSession.signIn({email, password, apiBase = "/api/v1/", storage?, storageKey?}) → Promise<AuthSession>
 *   AuthSession.restore({storage, storageKey?, apiBase?}) → AuthSession | null   (e.g. storage: sessionStorage)
 *   new AuthSession({access, refresh, apiBase?, storage?, storageKey?, fetch?})
 *   session.access / session.refreshToken      the current tokens (treat as secrets; never put them in URLs)
 *   session.userId                             the `user_id` claim of the access token
 *   session.accessRemainingMs                  what the access token has left on the server's clock (skew from `iat`)
 *   session.refresh() → Promise<string>        POST auth/token/refresh/ (rotation): new access token. Concurrent
 *                                              calls share one request. A refused refresh (blacklisted after a
 *                                              logout, expired) signs the session out: "signed-out" event, and
 *                                              the promise rejects with ApiError.
 *   session.api(path, {method, body, headers, auth = true}) → Promise<json|null>
 *                                              fetch under apiBase with `Authorization: Bearer` (body: sent as
 *                                              JSON, or as multipart when a FormData, e.g. a photo upload); refreshes first
 *                                              when the access token is about to expire and retries once after a
 *                                              401. Errors reject with ApiError {status, code, detail, fields, body}.
 *   session.signOut() → Promise                POST auth/logout/ (the server closes this user's sockets with 4401)
 *   session.on("tokens" | "signed-out", fn) → off()
 *
 * ── RealtimeClient: one socket, many topics ───────────────────────────────────────────────────────
 *
 *   new RealtimeClient({
 *     auth,                   // an AuthSession, or any {access: string, refresh(): Promise<string>}
 *     url = "/ws/",           // relative URLs resolve against the page: ws:// or wss:// to match http(s)
 *     commandTimeoutMs = 10000, connectTimeoutMs = 10000,
 *     reauthBeforeMs = 60000, // re-authenticate this long before `expires_at` (at most a quarter of the lifetime)
 *     pingIntervalMs = 25000, // app-level ping: detects dead connections, measures the server clock offset
 *     backoff = {baseMs: 500, maxMs: 30000, factor: 2},   // delay = d/2 + random·d/2, d = min(max, base·factor^n)
 *     rateLimitedDelayMs = 15000,                          // at least this long after a 4429 close
 *     name = "",              // shown in logs
 *   })
 *
 *   rt.connect() → Promise      resolves on the first successful `auth` reply; reconnects forever after
 *                               that (until close() or a sign-out). Rejects when the session is signed out.
 *   rt.close()                  closes the socket for good; pending requests reject with code "closed".
 *   rt.state                    "idle" | "connecting" | "authenticating" | "open" | "backoff" | "offline"
 *                               | "closed" | "signed_out"
 *   rt.userId, rt.expiresAt     from the last `auth` reply (expiresAt: ms since the epoch, server clock)
 *   rt.subscribe(topic, listener) → {topic, seq, ready, unsubscribe()}
 *                               Several listeners may share a topic; one server subscription serves them.
 *                               A listener joining a live topic causes a fresh snapshot for all listeners
 *                               (snapshots always mean "replace your state").
 *   rt.command(topic, name, data = {}, {timeoutMs}) → Promise<reply data>
 *   rt.request(op, fields, {timeoutMs}) → Promise<reply data>     any op, e.g. request("ping")
 *   rt.ping() → Promise<{serverTime, rttMs, offsetMs}>
 *   rt.serverNow() → number     Date.now() corrected by the measured server clock offset (ms)
 *   rt.clockOffsetMs            server clock − browser clock, from the last ping
 *   rt.topics() → [{topic, seq, status, gaps, resets, recoveries, replayed, duplicates, listeners}]
 *   rt.stats                    {framesIn, framesOut, reconnects (successful re-opens), gaps, resets, recoveries,
 *                               replayed, duplicates}
 *   rt.on(type, fn) → off()     "state" (state), "open" ({userId, expiresAt, resumed}),
 *                               "close" ({code, reason, delayMs}), "frame" ({dir: "in"|"out", frame}, tokens
 *                               redacted), "gap" ({topic, expected, got}), "error" (RealtimeError),
 *                               "signed-out", "reauth" ({expiresAt}), "clock" ({serverTime, rttMs, offsetMs}
 *                               after every ping)
 *   rt.debug.drop()             close the socket as a network failure would (the client reconnects and resumes)
 *   rt.debug.setOffline(bool)   drop and stay disconnected until setOffline(false) (simulated airplane mode)
 *   rt.debug.reauth()           re-authenticate now (refreshes the token first)
 *
 * ── What the client does for you ─────────────────────────────────────────────────────────────────
 *
 *  - Auth: sends {"op":"auth","token"} as the first frame; re-authenticates on the same socket before
 *    `expires_at` (refreshing the token through the session), so the server never closes with 4401.
 *  - Sequence tracking per topic: events must come with seq = last + 1. A smaller seq is a duplicate
 *    (dropped); a larger one is a gap (counted, reported, dropped) and the client resubscribes with
 *    `since` = the last seq it applied, which replays exactly the missed events; if history no longer
 *    reaches back, the server answers with a snapshot instead (counted as a reset). Events without seq
 *    (ephemeral: typing) are passed through; `subscription.revoked` removes the topic.
 *  - Reconnect: after any unexpected close, back-off with jitter, reconnect, `auth`, then resubscribe
 *    every topic with `since`, so nothing published while away is missed. `online` browser events
 *    cut a back-off short. Commands are NOT retried (they may have run); they reject with code
 *    "disconnected" and the caller decides (chat `send` with a client_msg_id is safe to retry).
 *  - Close codes: 4401 → refresh the token and reconnect at once (a refused refresh → signed out);
 *    4429 → wait at least rateLimitedDelayMs; 4503 (the `auth` was answered `unavailable`: PostgreSQL
 *    or Redis is down) → keep the token and reconnect after at least the reply's retry_after_ms;
 *    1009 → reported as an "error" (frame_too_big), then the normal back-off. Frames over 64 KiB are refused locally (code "frame_too_big") and never sent.
 *  - Replies: every request has a `ref`; its promise resolves with `data` or rejects with a
 *    RealtimeError carrying the server's {code, detail, fields, retryAfterMs}, or a local code:
 *    "timeout", "disconnected", "closed", "signed_out", "frame_too_big".
 */

export const CLOSE_TOO_BIG = 1009;
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_RATE_LIMITED = 4429;
export const CLOSE_TRY_AGAIN_LATER = 4503;
export const MAX_FRAME_BYTES = 64 * 1024;
const CLOSE_CLIENT = 4000; // our own debug/ping-timeout closes (4000-4999 are free for applications)

/** A refused request: a server error reply (`code`, `detail`, `fields`, `retryAfterMs`) or a local failure. */
export class RealtimeError extends Error {
  constructor(code, detail = "", extra = {}) {
    super(detail ? `${code}: ${detail}` : code);
    this.name = "RealtimeError";
    this.code = code;
    this.detail = detail;
    this.fields = extra.fields;
    this.retryAfterMs = extra.retry_after_ms ?? extra.retryAfterMs;
    this.extra = extra;
  }
}

/** A refused REST call: HTTP `status` plus the project's error body `{code, detail, fields?}`. */
export class ApiError extends RealtimeError {
  constructor(status, body) {
    const b = body && typeof body === "object" ? body : {};
    super(b.code || `http_${status}`, b.detail || "", b);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/** The JSON payload of a JWT (not verified: the server does that). */
export function jwtPayload(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(part + "===".slice((part.length + 3) % 4)), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
    );
    return JSON.parse(json);
  } catch {
    return {};
  }
}

class Emitter {
  constructor() {
    this._handlers = new Map();
  }
  on(type, fn) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(fn);
    return () => this._handlers.get(type)?.delete(fn);
  }
  _emit(type, payload) {
    for (const fn of this._handlers.get(type) || []) {
      try {
        fn(payload);
      } catch (err) {
        console.error(`realtime.js: a "${type}" handler failed`, err);
      }
    }
  }
}

// ── AuthSession ──────────────────────────────────────────────────────────────────────────────────

export class AuthSession extends Emitter {
  constructor({ access, refresh, apiBase = "/api/v1/", storage = null, storageKey = "marketplace.session", fetch: fetchImpl } = {}) {
    super();
    this.apiBase = apiBase.endsWith("/") ? apiBase : apiBase + "/";
    this.access = access;
    this.refreshToken = refresh;
    this.storage = storage;
    this.storageKey = storageKey;
    this.signedOut = false;
    this._fetch = fetchImpl || globalThis.fetch.bind(globalThis);
    this._refreshing = null;
    void this.accessRemainingMs; // note the clock skew while the token is fresh
    this._persist();
  }

  static async signIn({ email, password, apiBase = "/api/v1/", ...options } = {}) {
    const probe = new AuthSession({ apiBase, ...options, storage: null });
    const pair = await probe.api("auth/token/", { method: "POST", body: { email, password }, auth: false });
    return new AuthSession({ ...pair, apiBase, ...options });
  }

  static restore({ storage, storageKey = "marketplace.session", apiBase = "/api/v1/", ...options } = {}) {
    try {
      const saved = JSON.parse(storage?.getItem(storageKey) || "null");
      if (saved?.access && saved?.refresh) return new AuthSession({ ...saved, apiBase, storage, storageKey, ...options });
    } catch {
      /* unreadable storage: start signed out */
    }
    return null;
  }

  get userId() {
    const claims = jwtPayload(this.access || "");
    return claims.user_id != null ? String(claims.user_id) : null;
  }

  /** Access-token expiry in ms since the epoch (the token's `exp`, on the server's clock). */
  get accessExpiresAt() {
    const exp = jwtPayload(this.access || "").exp;
    return exp ? exp * 1000 : 0;
  }

  /** Milliseconds the access token has left, on the server's clock (estimated from its `iat`). */
  get accessRemainingMs() {
    if (!this.accessExpiresAt) return Infinity;
    if (this._skewFor !== this.access) {
      // server clock − browser clock, assuming the token was issued just now (first sight)
      const iat = jwtPayload(this.access).iat;
      this._skewMs = iat ? iat * 1000 - Date.now() : 0;
      this._skewFor = this.access;
    }
    return this.accessExpiresAt - (Date.now() + this._skewMs);
  }

  _persist() {
    if (!this.storage) return;
    try {
      if (this.signedOut || !this.access) this.storage.removeItem(this.storageKey);
      else this.storage.setItem(this.storageKey, JSON.stringify({ access: this.access, refresh: this.refreshToken }));
    } catch {
      /* storage full or disabled: the session still works in memory */
    }
  }

  /** Exchange the refresh token for a new pair (rotation). One request at a time. */
  refresh() {
    if (this.signedOut) return Promise.reject(new RealtimeError("signed_out", "The session was signed out."));
    if (!this._refreshing) {
      const sent = this.refreshToken;
      this._refreshing = this.api("auth/token/refresh/", { method: "POST", body: { refresh: sent }, auth: false })
        .then((pair) => {
          this.access = pair.access;
          this.refreshToken = pair.refresh || this.refreshToken;
          void this.accessRemainingMs; // note the clock skew while the token is fresh
          this._persist();
          this._emit("tokens", { access: this.access });
          return this.access;
        })
        .catch((err) => {
          if (err instanceof ApiError && (err.status === 401 || err.status === 400)) this._signOutLocally();
          throw err;
        })
        .finally(() => {
          this._refreshing = null;
        });
    }
    return this._refreshing;
  }

  _signOutLocally() {
    if (this.signedOut) return;
    this.signedOut = true;
    this._persist();
    this._emit("signed-out", {});
  }

  /** A REST call under apiBase (or an absolute path). Resolves with the JSON body (null for 204). */
  async api(path, { method = "GET", body, headers = {}, auth = true, retried = false } = {}) {
    const url = path.startsWith("/") || /^https?:/.test(path) ? path : this.apiBase + path;
    if (auth && this.access && this.accessRemainingMs < 15000 && !retried) {
      await this.refresh().catch(() => {});
    }
    const h = { Accept: "application/json", ...headers };
    const form = typeof FormData !== "undefined" && body instanceof FormData; // multipart: fetch sets the boundary
    if (body !== undefined && !form) h["Content-Type"] = "application/json";
    if (auth && this.access) h.Authorization = `Bearer ${this.access}`;
    let response;
    try {
      response = await this._fetch(url, { method, headers: h, body: body === undefined ? undefined : form ? body : JSON.stringify(body) });
    } catch (err) {
      throw new RealtimeError("network_error", String(err?.message || err));
    }
    if (response.status === 401 && auth && !retried && !this.signedOut) {
      await this.refresh();
      return this.api(path, { method, body, headers, auth, retried: true });
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { code: `http_${response.status}`, detail: text.slice(0, 200) };
      }
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  async signOut() {
    if (this.signedOut) return;
    try {
      await this.api("auth/logout/", { method: "POST", body: { refresh: this.refreshToken } });
    } finally {
      this._signOutLocally();
    }
  }
}

// ── RealtimeClient ───────────────────────────────────────────────────────────────────────────────

function wsUrl(url) {
  const base = globalThis.location ? globalThis.location.href : "http://localhost/";
  const u = new URL(url, base);
  if (u.protocol === "http:") u.protocol = "ws:";
  if (u.protocol === "https:") u.protocol = "wss:";
  return u.toString();
}

const utf8 = new TextEncoder();
const FATAL_SUBSCRIBE_CODES = new Set(["forbidden", "unknown_topic", "invalid_topic", "too_many_topics", "bad_frame"]);

export class RealtimeClient extends Emitter {
  constructor({
    auth,
    url = "/ws/",
    commandTimeoutMs = 10000,
    connectTimeoutMs = 10000,
    reauthBeforeMs = 60000,
    pingIntervalMs = 25000,
    backoff = {},
    rateLimitedDelayMs = 15000,
    name = "",
    WebSocketImpl = globalThis.WebSocket,
  } = {}) {
    super();
    if (!auth) throw new Error("RealtimeClient needs {auth}: an AuthSession or {access, refresh()}.");
    this.auth = auth;
    this.url = wsUrl(url);
    this.name = name;
    this.commandTimeoutMs = commandTimeoutMs;
    this.connectTimeoutMs = connectTimeoutMs;
    this.reauthBeforeMs = reauthBeforeMs;
    this.pingIntervalMs = pingIntervalMs;
    this.backoff = { baseMs: 500, maxMs: 30000, factor: 2, ...backoff };
    this.rateLimitedDelayMs = rateLimitedDelayMs;
    this.WebSocketImpl = WebSocketImpl;

    this.state = "idle";
    this.userId = null;
    this.expiresAt = null;
    this.clockOffsetMs = 0;
    this.stats = { framesIn: 0, framesOut: 0, reconnects: 0, gaps: 0, resets: 0, recoveries: 0, replayed: 0, duplicates: 0 };

    this._ws = null;
    this._refSeq = 0;
    this._pending = new Map(); // ref -> {resolve, reject, timer, op}
    this._topics = new Map(); // topic -> TopicState
    this._openWaiters = []; // [{resolve, reject}]
    this._attempt = 0;
    this._authFailures = 0;
    this._wantOpen = false;
    this._offline = false;
    this._everOpened = false;
    this._timers = {};
    this._authedToken = null;
    this._firstOpen = null;

    this.debug = {
      drop: () => this._dropSocket("debug: dropped"),
      setOffline: (offline) => this._setOffline(Boolean(offline)),
      reauth: () => this._reauth(),
      socket: () => this._ws,
    };
    if (globalThis.addEventListener) {
      this._onOnline = () => {
        if (this.state === "backoff") this._reconnectNow();
      };
      globalThis.addEventListener("online", this._onOnline);
    }
  }

  // ── public API ──

  connect() {
    if (this.state === "closed" || this.state === "signed_out") {
      return Promise.reject(new RealtimeError(this.state, "This client is closed; make a new one."));
    }
    this._wantOpen = true;
    if (!this._firstOpen) {
      this._firstOpen = new Promise((resolve, reject) => this._openWaiters.push({ resolve, reject }));
      this._firstOpen.catch(() => {});
    }
    if (this.state === "idle") this._open();
    return this._firstOpen;
  }

  close() {
    this._wantOpen = false;
    this._clearTimers();
    this._setState("closed");
    const ws = this._ws;
    this._ws = null;
    if (ws && ws.readyState <= 1) ws.close(1000, "client closed");
    this._failPending("closed", "The client was closed.");
    this._failOpenWaiters(new RealtimeError("closed", "The client was closed."));
    if (this._onOnline && globalThis.removeEventListener) globalThis.removeEventListener("online", this._onOnline);
  }

  serverNow() {
    return Date.now() + this.clockOffsetMs;
  }

  topics() {
    return [...this._topics.values()].map((t) => ({
      topic: t.topic, seq: t.seq, status: t.status, gaps: t.gaps, resets: t.resets, recoveries: t.recoveries,
      replayed: t.replayed, duplicates: t.duplicates, listeners: t.listeners.size, lastRecovered: t.lastRecovered,
    }));
  }

  subscribe(topic, listener = {}) {
    let ts = this._topics.get(topic);
    const isNew = !ts;
    if (!ts) {
      ts = {
        topic, seq: null, status: "pending", listeners: new Set(), buffer: [], gaps: 0, resets: 0, recoveries: 0,
        replayed: 0, duplicates: 0, resyncing: false, lastRecovered: null, inflight: null, readyWaiters: [],
      };
      this._topics.set(topic, ts);
    }
    ts.listeners.add(listener);
    const ready = new Promise((resolve, reject) => ts.readyWaiters.push({ resolve, reject, listener }));
    ready.catch(() => {});
    if (this.state === "open") {
      if (isNew || ts.status === "error") this._subscribeTopic(ts);
      else this._subscribeTopic(ts, { fresh: true }); // a snapshot for the new listener
    }
    const client = this;
    return {
      topic,
      ready,
      get seq() {
        return ts.seq;
      },
      unsubscribe() {
        client._removeListener(topic, listener);
      },
    };
  }

  command(topic, name, data = {}, { timeoutMs } = {}) {
    return this.request("command", { topic, name, data }, { timeoutMs });
  }

  async ping({ timeoutMs = 10000 } = {}) {
    const t0 = Date.now();
    const data = await this.request("ping", {}, { timeoutMs });
    const t1 = Date.now();
    const server = Date.parse(data.server_time);
    if (!Number.isNaN(server)) this.clockOffsetMs = Math.round(server - (t0 + t1) / 2);
    if (this.state === "open" && this.expiresAt) this._scheduleReauth(); // now on the measured clock
    const result = { serverTime: data.server_time, rttMs: t1 - t0, offsetMs: this.clockOffsetMs };
    this._emit("clock", result);
    return result;
  }

  /** Send `{op, ref, ...fields}` once the connection is authenticated; resolve with the reply's data. */
  async request(op, fields = {}, { timeoutMs } = {}) {
    const timeout = timeoutMs ?? this.commandTimeoutMs;
    const deadline = Date.now() + timeout;
    if (this.state !== "open") await this._waitOpen(timeout);
    return this._send(op, fields, Math.max(1, deadline - Date.now()));
  }

  // ── internals: requests ──

  _send(op, fields, timeoutMs) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return Promise.reject(new RealtimeError("disconnected", "Not connected."));
    const ref = `${++this._refSeq}`;
    const frame = { op, ref, ...fields };
    const text = JSON.stringify(frame);
    if (text.length * 3 > MAX_FRAME_BYTES && utf8.encode(text).length > MAX_FRAME_BYTES) {
      return Promise.reject(new RealtimeError("frame_too_big", `Frames are limited to ${MAX_FRAME_BYTES} bytes.`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(ref);
        reject(new RealtimeError("timeout", `No reply to ${op} within ${timeoutMs} ms.`));
      }, timeoutMs);
      this._pending.set(ref, { resolve, reject, timer, op, ws });
      this.stats.framesOut += 1;
      this._emit("frame", { dir: "out", frame: op === "auth" ? { ...frame, token: "…" } : frame });
      ws.send(text);
    });
  }

  _waitOpen(timeoutMs) {
    if (this.state === "closed" || this.state === "signed_out") return Promise.reject(new RealtimeError(this.state, "The client is not connected."));
    if (this.state === "idle") this.connect();
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      const timer = setTimeout(() => {
        this._openWaiters = this._openWaiters.filter((w) => w !== waiter);
        reject(new RealtimeError("timeout", `Not connected within ${timeoutMs} ms.`));
      }, timeoutMs);
      waiter.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      waiter.reject = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      this._openWaiters.push(waiter);
    });
  }

  _failPending(code, detail, ws = null) {
    for (const [ref, p] of this._pending) {
      if (ws && p.ws !== ws) continue;
      clearTimeout(p.timer);
      this._pending.delete(ref);
      p.reject(new RealtimeError(code, detail));
    }
  }

  _failOpenWaiters(err) {
    const waiters = this._openWaiters;
    this._openWaiters = [];
    for (const w of waiters) w.reject(err);
  }

  // ── internals: connection ──

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit("state", state);
  }

  _clearTimers() {
    for (const key of Object.keys(this._timers)) {
      clearTimeout(this._timers[key]);
      clearInterval(this._timers[key]);
    }
    this._timers = {};
  }

  _open() {
    if (!this._wantOpen || this._offline) return;
    this._clearTimers();
    this._setState("connecting");
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch (err) {
      this._scheduleReconnect(0, String(err));
      return;
    }
    this._ws = ws;
    this._timers.connect = setTimeout(() => {
      if (this._ws === ws && this.state !== "open") ws.close(CLOSE_CLIENT, "connect timeout");
    }, this.connectTimeoutMs);
    ws.onopen = () => this._onSocketOpen(ws);
    ws.onmessage = (msg) => this._onMessage(ws, msg);
    ws.onclose = (ev) => this._onSocketClose(ws, ev);
    ws.onerror = () => {}; // a close event always follows
  }

  async _onSocketOpen(ws) {
    if (this._ws !== ws) return;
    this._setState("authenticating");
    const token = this.auth.access;
    let data;
    try {
      data = await this._send("auth", { token }, this.connectTimeoutMs);
    } catch (err) {
      // invalid_token: the server closes with 4401 right after; the close handler refreshes.
      // unavailable: 4503 follows; the token stays, the close handler waits retry_after_ms.
      if (err.code === "unavailable") this._retryAfterMs = err.retryAfterMs || 0;
      if (err.code === "timeout" && this._ws === ws) ws.close(CLOSE_CLIENT, "auth timeout");
      return;
    }
    if (this._ws !== ws) return;
    clearTimeout(this._timers.connect);
    this._authedToken = token;
    this._authFailures = 0;
    this._attempt = 0;
    this._applyAuthReply(data);
    const resumed = this._everOpened;
    this._everOpened = true;
    if (resumed) this.stats.reconnects += 1;
    this._setState("open");
    this._timers.ping = setInterval(() => this._keepalive(ws), this.pingIntervalMs);
    this.ping().catch(() => {});
    for (const ts of this._topics.values()) this._subscribeTopic(ts);
    const waiters = this._openWaiters;
    this._openWaiters = [];
    for (const w of waiters) w.resolve();
    this._emit("open", { userId: this.userId, expiresAt: this.expiresAt, resumed });
  }

  _applyAuthReply(data) {
    this.userId = data.user_id;
    this.expiresAt = Date.parse(data.expires_at);
    this._scheduleReauth();
  }

  _scheduleReauth() {
    clearTimeout(this._timers.reauth);
    const remaining = this.expiresAt - this.serverNow();
    const lead = Math.min(this.reauthBeforeMs, Math.max(1000, remaining / 4));
    // at least 1 s apart, so a token the server already considers expired cannot cause a re-auth storm
    this._timers.reauth = setTimeout(() => this._reauth(), Math.max(1000, remaining - lead));
  }

  /** A token newer than the one this socket authenticated with (refreshing when there is none). */
  async _freshToken() {
    const current = this.auth.access;
    const newer = current && current !== this._authedToken
      && (jwtPayload(current).exp || 0) > (jwtPayload(this._authedToken || "").exp || 0);
    return newer ? current : this.auth.refresh();
  }

  async _reauth() {
    const ws = this._ws;
    if (!ws || this.state !== "open") return;
    let token;
    try {
      token = await this._freshToken();
    } catch (err) {
      this._signedOut(err);
      return;
    }
    try {
      const data = await this._send("auth", { token }, this.commandTimeoutMs);
      if (this._ws !== ws) return;
      this._authedToken = token;
      this._applyAuthReply(data);
      this._emit("reauth", { expiresAt: this.expiresAt });
    } catch (err) {
      this._emit("error", err);
      if (this._ws === ws) this._timers.reauth = setTimeout(() => this._reauth(), 2000); // retried until expiry
    }
  }

  async _keepalive(ws) {
    if (this._ws !== ws || this.state !== "open") return;
    try {
      await this.ping({ timeoutMs: Math.min(10000, this.pingIntervalMs) });
    } catch (err) {
      if (err.code === "timeout" && this._ws === ws) ws.close(CLOSE_CLIENT, "ping timeout");
    }
  }

  _dropSocket(reason) {
    const ws = this._ws;
    if (ws && ws.readyState <= 1) ws.close(CLOSE_CLIENT, reason);
  }

  _setOffline(offline) {
    this._offline = offline;
    if (offline) {
      clearTimeout(this._timers.reconnect);
      if (this._ws && this._ws.readyState <= 1) this._dropSocket("debug: offline");
      else this._setState("offline");
    } else if (this.state === "offline" || this.state === "backoff") {
      this._reconnectNow();
    }
  }

  _reconnectNow() {
    clearTimeout(this._timers.reconnect);
    this._open();
  }

  async _onSocketClose(ws, ev) {
    if (this._ws !== ws) return;
    this._ws = null;
    this._clearTimers();
    this._failPending("disconnected", "The connection closed before the reply; the outcome is unknown.", ws);
    for (const ts of this._topics.values()) {
      if (ts.status !== "error") ts.status = "pending";
      ts.inflight = null;
      ts.resyncing = false;
    }
    if (!this._wantOpen) return;
    const code = ev.code;
    if (this._offline) {
      this._setState("offline");
      this._emit("close", { code, reason: ev.reason, delayMs: null });
      return;
    }
    let delay = this._nextBackoff();
    this._setState("backoff");
    if (code === CLOSE_UNAUTHORIZED) {
      this._authFailures += 1;
      if (this._authFailures > 2) {
        this._signedOut(new RealtimeError("invalid_token", "The server refused the token repeatedly."));
        return;
      }
      try {
        await this.auth.refresh();
      } catch (err) {
        this._signedOut(err);
        return;
      }
      if (!this._wantOpen) return;
      delay = Math.round(Math.random() * 250);
    } else if (code === CLOSE_RATE_LIMITED) {
      delay = Math.max(delay, this.rateLimitedDelayMs);
    } else if (code === CLOSE_TRY_AGAIN_LATER) {
      delay = Math.max(delay, this._retryAfterMs || 0);
      this._retryAfterMs = 0;
    } else if (code === CLOSE_TOO_BIG) {
      this._emit("error", new RealtimeError("frame_too_big", "The server closed the connection: a frame was over 64 KiB."));
    }
    this._scheduleReconnect(delay, ev.reason, code);
  }

  _nextBackoff() {
    const { baseMs, maxMs, factor } = this.backoff;
    const d = Math.min(maxMs, baseMs * factor ** this._attempt);
    this._attempt += 1;
    return Math.round(d / 2 + (Math.random() * d) / 2);
  }

  _scheduleReconnect(delay, reason = "", code = null) {
    this._setState("backoff");
    this._emit("close", { code, reason, delayMs: delay });
    this._timers.reconnect = setTimeout(() => this._open(), delay);
  }

  _signedOut(err) {
    this._wantOpen = false;
    this._clearTimers();
    const ws = this._ws;
    this._ws = null;
    if (ws && ws.readyState <= 1) ws.close(1000, "signed out");
    this._setState("signed_out");
    this._failPending("signed_out", "The session was signed out.");
    this._failOpenWaiters(new RealtimeError("signed_out", String(err?.detail || err?.message || "The session was signed out.")));
    this._emit("signed-out", err);
  }

  // ── internals: frames and topics ──

  _onMessage(ws, msg) {
    if (this._ws !== ws) return;
    let frame;
    try {
      frame = JSON.parse(msg.data);
    } catch {
      return;
    }
    this.stats.framesIn += 1;
    this._emit("frame", { dir: "in", frame });
    if (frame.op === "reply") {
      const p = this._pending.get(String(frame.ref));
      if (!p) return; // a late reply after a timeout
      this._pending.delete(String(frame.ref));
      clearTimeout(p.timer);
      if (frame.status === "ok") p.resolve(frame.data ?? null);
      else {
        const e = frame.error || {};
        p.reject(new RealtimeError(e.code || "error", e.detail || "", e));
      }
    } else if (frame.op === "event") {
      this._onEvent(frame);
    }
  }

  _deliver(ts, kind, ...args) {
    for (const l of [...ts.listeners]) {
      const fn = l[kind];
      if (typeof fn !== "function") continue;
      try {
        fn.apply(l, args);
      } catch (err) {
        console.error(`realtime.js: ${ts.topic} ${kind} listener failed`, err);
      }
    }
  }

  _onEvent(frame) {
    const ts = this._topics.get(frame.topic);
    if (!ts) return;
    if (frame.seq == null) {
      if (frame.type === "subscription.revoked") {
        this._topics.delete(ts.topic);
        ts.status = "revoked";
        this._deliver(ts, "revoked", frame.data?.reason ?? "");
        return;
      }
      this._deliver(ts, "event", frame); // ephemeral: relayed only, never replayed
      return;
    }
    if (ts.seq == null) {
      ts.buffer.push(frame); // before the first snapshot: applied after it
      return;
    }
    if (frame.seq <= ts.seq) {
      ts.duplicates += 1;
      this.stats.duplicates += 1;
      return;
    }
    if (frame.seq > ts.seq + 1) {
      const info = { topic: ts.topic, expected: ts.seq + 1, got: frame.seq };
      ts.gaps += 1;
      this.stats.gaps += 1;
      this._emit("gap", info);
      this._deliver(ts, "gap", info);
      if (!ts.resyncing && ts.status === "live" && this.state === "open") {
        ts.resyncing = true;
        this._subscribeTopic(ts); // since = ts.seq: the replay brings this event back
      }
      return;
    }
    ts.seq = frame.seq;
    if (ts.status === "subscribing") {
      ts.replayed += 1;
      this.stats.replayed += 1;
    }
    this._deliver(ts, "event", frame);
  }

  _subscribeTopic(ts, { fresh = false } = {}) {
    const since = !fresh && ts.seq != null ? ts.seq : undefined;
    ts.status = "subscribing";
    const fields = { topic: ts.topic };
    if (since !== undefined) fields.since = since;
    const attempt = this._send("subscribe", fields, this.commandTimeoutMs);
    ts.inflight = attempt;
    attempt.then(
      (data) => {
        if (this._topics.get(ts.topic) !== ts) return;
        ts.resyncing = false;
        if (data.recovered) {
          ts.recoveries += 1;
          this.stats.recoveries += 1;
          ts.lastRecovered = true;
          if (typeof data.seq === "number" && data.seq > ts.seq) {
            // History said it recovered but we hold less than it replayed: resync from scratch.
            ts.gaps += 1;
            this.stats.gaps += 1;
            this._subscribeTopic(ts, { fresh: true });
            return;
          }
        } else {
          if (since !== undefined) {
            ts.resets += 1; // history no longer reached back: a snapshot replaces the state
            this.stats.resets += 1;
          }
          ts.lastRecovered = false;
          ts.seq = data.seq;
          this._deliver(ts, "snapshot", data.snapshot, { seq: data.seq, recovered: false });
          const buffered = ts.buffer.sort((a, b) => a.seq - b.seq);
          ts.buffer = [];
          for (const ev of buffered) if (ev.seq > ts.seq) this._onEvent(ev);
        }
        ts.status = "live";
        const waiters = ts.readyWaiters;
        ts.readyWaiters = [];
        for (const w of waiters) w.resolve(data);
      },
      (err) => {
        if (this._topics.get(ts.topic) !== ts) return;
        ts.resyncing = false;
        if (["disconnected", "closed", "signed_out"].includes(err.code)) return; // resubscribed on reconnect
        if (err.code === "rate_limited" || err.code === "timeout") {
          const wait = err.retryAfterMs || 1000;
          setTimeout(() => {
            if (this._topics.get(ts.topic) === ts && this.state === "open") this._subscribeTopic(ts);
          }, wait);
          return;
        }
        ts.status = "error";
        ts.lastError = err;
        if (FATAL_SUBSCRIBE_CODES.has(err.code)) this._topics.delete(ts.topic);
        this._deliver(ts, "error", err);
        const waiters = ts.readyWaiters;
        ts.readyWaiters = [];
        for (const w of waiters) w.reject(err);
      },
    );
  }

  _removeListener(topic, listener) {
    const ts = this._topics.get(topic);
    if (!ts) return;
    ts.listeners.delete(listener);
    if (ts.listeners.size) return;
    this._topics.delete(topic);
    if (this.state === "open") this._send("unsubscribe", { topic }, this.commandTimeoutMs).catch(() => {});
  }
}
