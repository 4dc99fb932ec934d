/**
 * Auction room panel, built against the contract of issue 6 (the auctions app may not exist yet;
 * the panel then says "not available"):
 *
 *  - GET  /api/v1/auctions/?status=live → a page {results: [...]} or a list of auctions {id, title, …};
 *    404 → the feature is not deployed: "not available".
 *  - GET  /api/v1/auctions/{id}/ and the `auction:<id>` snapshot → {id, title?, status, currency,
 *    current_price, bid_count, leader (pseudonym string, or {pseudonym|name}), reserve_met (null
 *    without a reserve), buy_now_available?, minimum_bid, ends_at, hard_end, server_time,
 *    result?, final_price?, my_max_amount?, leading?}. A snapshot wrapped as {auction: {...}} is
 *    accepted too.
 *  - events: auction.bid_placed {current_price, leader, bid_count, minimum_bid, ends_at,
 *    reserve_met?}, auction.extended {ends_at, …}, auction.reserve_met {…}, auction.closed
 *    {result, final_price, …}; every key present is merged into the shown state.
 *  - command `bid` {max_amount: "12.50"} → {current_price, leading, minimum_bid, ends_at, reserve_met};
 *    refusals show their code (bid_too_low, auction_not_live, auction_ended, own_auction,
 *    insufficient_funds, …).
 *
 * The countdown runs on the server's clock: offset = snapshot.server_time − the browser time when
 * the snapshot arrived (falling back to the socket's ping offset), so a wrong browser clock does
 * not move the end. Each extension is shown (+N s) and counted.
 */

import { errorText, fill, flash, h, money, unavailable } from "./ui.js";

const leaderName = (leader) => (leader == null ? null : typeof leader === "string" ? leader : leader.pseudonym || leader.name || leader.label || "a bidder");

export function mount(root, { session, rt }) {
  const picker = h("select", { "aria-label": "Live auction" });
  const idInput = h("input", { type: "text", placeholder: "auction id", class: "id-input", "aria-label": "Auction id" });
  const openButton = h("button", { type: "button", class: "ghost" }, "Open");
  const room = h("div", { class: "auction-room" });
  const status = h("p", { class: "status", hidden: true });
  fill(root, h("div", { class: "row" }, picker, idInput, openButton), room, status);

  let current = null; // {id, sub, state, offsetMs, extensions, timer}

  openButton.addEventListener("click", () => idInput.value.trim() && open(idInput.value.trim()));
  picker.addEventListener("change", () => picker.value && open(picker.value));

  async function loadList() {
    try {
      const page = await session.api("auctions/?status=live&limit=20");
      const auctions = Array.isArray(page) ? page : page?.results || [];
      fill(picker, h("option", { value: "" }, auctions.length ? "Choose a live auction…" : "No live auctions"),
        auctions.map((a) => h("option", { value: a.id }, `${a.title || a.id} — ${money(a.current_price, a.currency)}`)));
      if (auctions.length && !current) open(auctions[0].id);
      else if (!auctions.length) fill(room, h("p", { class: "muted" }, "No live auction right now; paste an id to open one."));
    } catch (err) {
      if (err.status === 404) notAvailable("GET /api/v1/auctions/ answered 404");
      else flash(status, `auctions: ${errorText(err)}`, "error", 0);
    }
  }

  function notAvailable(why) {
    close();
    root.dataset.available = "0";
    fill(root, unavailable("Auctions", `The auctions API is not deployed on this server yet (${why}). This panel expects the auction:<id> topic of issue 6.`));
  }

  function close() {
    if (!current) return;
    clearInterval(current.timer);
    current.sub.unsubscribe();
    current = null;
  }

  function open(id) {
    close();
    const me_ = { id, state: null, offsetMs: null, extensions: 0, lastExtension: null, leaders: {}, myName: null, awaitVersion: null };
    current = me_;
    fill(room, h("p", { class: "muted" }, "Loading…"));
    me_.sub = rt.subscribe(`auction:${id}`, {
      snapshot(snap) {
        if (current !== me_) return;
        const a = snap?.auction || snap || {};
        me_.state = { ...a };
        me_.myName = a.leading ? leaderName(a.leader) : me_.myName || null;
        syncClock(a.server_time);
        render();
      },
      event(ev) {
        if (current !== me_ || !me_.state) return;
        const d = ev.data || {};
        const patch = { ...d, ...(d.auction || {}) };
        if (patch.leader !== undefined) {
          // events are public: "leading" is derived from our own pseudonym, learnt from the event
          // of the version our accepted bid produced (the reply and the event may come in any order)
          const name = leaderName(patch.leader);
          if (patch.version != null) me_.leaders[patch.version] = name;
          if (patch.version != null && patch.version === me_.awaitVersion) me_.myName = name;
          patch.leading = me_.myName != null && name === me_.myName;
        }
        merge(me_, patch);
        if (d.server_time) syncClock(d.server_time);
        if (ev.type === "auction.closed") me_.state.status = d.status || "ended";
        me_.lastEvent = ev.type;
        render();
      },
      error(err) {
        if (err.code === "unknown_topic") notAvailable("the gateway has no auction: topic");
        else fill(room, h("p", { class: "status", dataset: { kind: "error" } }, errorText(err)));
      },
    });
    me_.timer = setInterval(tick, 250);
  }

  /** Merge a patch into the shown state; the end moving later is an extension (counted once per new end). */
  function merge(c, patch) {
    const before = c.state.ends_at;
    c.state = { ...c.state, ...patch };
    if (before && c.state.ends_at && Date.parse(c.state.ends_at) > Date.parse(before)) {
      c.extensions += 1;
      c.lastExtension = { at: Date.now(), seconds: Math.max(1, Math.ceil((Date.parse(c.state.ends_at) - Date.parse(before)) / 1000)) };
    }
  }

  function syncClock(serverTime) {
    const t = Date.parse(serverTime || "");
    if (current) current.offsetMs = Number.isNaN(t) ? null : t - Date.now();
  }

  function serverNow() {
    return Date.now() + (current?.offsetMs ?? rt.clockOffsetMs);
  }

  let countdownEl = null;
  let extendedEl = null;
  function tick() {
    if (!current?.state || !countdownEl) return;
    const a = current.state;
    const left = Date.parse(a.ends_at) - serverNow();
    const live = a.status === "live";
    if (!live) countdownEl.textContent = a.status || "—";
    else if (Number.isNaN(left)) countdownEl.textContent = "—";
    else if (left <= 0) countdownEl.textContent = "closing…";
    else {
      const s = Math.floor(left / 1000);
      const hh = Math.floor(s / 3600);
      const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
      const ss = String(s % 60).padStart(2, "0");
      countdownEl.textContent = `${hh ? `${hh}:` : ""}${mm}:${ss}`;
    }
    countdownEl.dataset.urgent = live && left < 30000 ? "1" : "";
    if (extendedEl) extendedEl.hidden = !(current.lastExtension && Date.now() - current.lastExtension.at < 8000);
  }

  function render() {
    const a = current.state;
    const leader = leaderName(a.leader);
    if (!current.amount) {
      // Created once per auction, so a live event does not wipe what the user is typing.
      const amount = h("input", { type: "text", inputmode: "decimal", class: "bid-input", "aria-label": "Your maximum bid" });
      amount.addEventListener("input", () => { amount.dataset.touched = amount.value ? "1" : ""; });
      amount.addEventListener("keydown", (e) => e.key === "Enter" && bid(amount.value.trim()));
      const bidButton = h("button", { type: "button", class: "bid" }, "Place bid");
      bidButton.addEventListener("click", () => bid(amount.value.trim()));
      Object.assign(current, { amount, bidButton });
    }
    const { amount, bidButton } = current;
    if (!amount.dataset.touched) amount.value = a.minimum_bid || "";
    bidButton.disabled = a.status !== "live";
    countdownEl = h("span", { class: "countdown" }, "");
    extendedEl = h("span", { class: "extended", hidden: true }, current.lastExtension ? `+${current.lastExtension.seconds}s extended` : "");
    fill(room,
      h("div", { class: "row between" }, h("strong", {}, a.title || `Auction ${current.id.slice(0, 8)}`), h("span", { class: "pill", dataset: { state: a.status === "live" ? "open" : "idle" } }, a.status || "?")),
      h("div", { class: "price", dataset: { price: a.current_price ?? "" } }, money(a.current_price, a.currency)),
      h("dl", { class: "facts" },
        h("dt", {}, "Leader"), h("dd", { class: "leader" }, leader ? `${leader}${a.leading ? " (you)" : ""}` : "no bids yet"),
        h("dt", {}, "Bids"), h("dd", { class: "bid-count" }, String(a.bid_count ?? 0)),
        h("dt", {}, "Reserve"), h("dd", {}, a.reserve_met == null ? "none" : a.reserve_met ? "met" : "not met"),
        h("dt", {}, "Minimum bid"), h("dd", { class: "minimum" }, money(a.minimum_bid, a.currency)),
        h("dt", {}, "Ends in"), h("dd", {}, countdownEl, " ", extendedEl, current.extensions ? h("span", { class: "muted small" }, ` (${current.extensions} extension${current.extensions > 1 ? "s" : ""})`) : null),
        a.hard_end ? [h("dt", {}, "Hard end"), h("dd", { class: "muted" }, new Date(a.hard_end).toLocaleString())] : null,
        a.my_max_amount ? [h("dt", {}, "Your maximum"), h("dd", {}, money(a.my_max_amount, a.currency))] : null,
        a.result ? [h("dt", {}, "Result"), h("dd", {}, `${a.result}${a.final_price ? ` at ${money(a.final_price, a.currency)}` : ""}`)] : null),
      h("div", { class: "row" }, amount, bidButton));
    tick();
  }

  async function bid(maxAmount) {
    const c = current;
    if (!c || !maxAmount) return;
    try {
      const r = await rt.command(`auction:${c.id}`, "bid", { max_amount: maxAmount });
      if (current === c && r) {
        if (r.leading && r.version != null) {
          c.awaitVersion = r.version;
          if (c.leaders[r.version]) c.myName = c.leaders[r.version];
        }
        merge(c, { ...r, my_max_amount: maxAmount });
        c.amount.dataset.touched = "";
        render();
      }
      flash(status, r?.leading === false ? "Bid accepted, but another maximum is higher." : "Bid accepted.", "ok");
    } catch (err) {
      flash(status, `bid refused: ${errorText(err)}`, "error");
    }
  }

  loadList();
  return { destroy: close };
}
