/**
 * Protocol inspector: the page's sockets (state, server clock offset, round trip), every topic
 * with its last applied seq and the client's counters (gaps, resets, recoveries, replayed,
 * duplicates), the latest frames (tokens redacted), and buttons that exercise recovery: drop
 * the connection, go offline/online, re-authenticate, ping.
 */

import { errorText, fill, h } from "./ui.js";

const MAX_FRAMES = 80;

export function mount(root, { rt, clients }) {
  const summary = h("div", { class: "inspector-summary" });
  const table = h("table", { class: "topics" });
  const frames = h("ol", { class: "frames" });
  const note = h("p", { class: "muted small" });
  const clock = h("p", { class: "muted small" });
  const offlineButton = h("button", { type: "button", class: "ghost", dataset: { action: "offline" } }, "Go offline");
  fill(root,
    h("div", { class: "row" },
      h("button", { type: "button", class: "ghost", dataset: { action: "drop" }, onclick: () => rt.debug.drop() }, "Drop connection"),
      offlineButton,
      h("button", { type: "button", class: "ghost", dataset: { action: "reauth" }, onclick: () => rt.debug.reauth() }, "Re-auth now"),
      h("button", { type: "button", class: "ghost", dataset: { action: "ping" }, onclick: () => ping() }, "Ping")),
    note, clock, summary, table, h("details", { open: true }, h("summary", {}, "Frames on the page's socket (newest first)"), frames));

  offlineButton.addEventListener("click", () => {
    const goOffline = rt.state !== "offline";
    rt.debug.setOffline(goOffline);
    offlineButton.textContent = goOffline ? "Go online" : "Go offline";
  });

  async function ping() {
    try {
      await rt.ping(); // shown by the "clock" listener
    } catch (err) {
      note.textContent = `ping: ${errorText(err)}`;
    }
  }

  let scheduled = false;
  function refresh() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      render();
    });
  }

  function render() {
    const entries = Object.entries(clients);
    fill(summary, entries.map(([name, c]) => h("div", { class: "client", dataset: { client: name, state: c.state } },
      h("strong", {}, name), ` ${c.state} · in ${c.stats.framesIn} / out ${c.stats.framesOut} · reconnects ${c.stats.reconnects}`,
      ` · gaps ${c.stats.gaps} · recoveries ${c.stats.recoveries} · replayed ${c.stats.replayed}`,
      c.expiresAt ? ` · token until ${new Date(c.expiresAt).toLocaleTimeString()}` : "")));
    fill(table,
      h("thead", {}, h("tr", {}, ["socket", "topic", "seq", "status", "gaps", "resets", "recoveries", "replayed", "dupes"].map((t) => h("th", {}, t)))),
      h("tbody", {}, entries.flatMap(([name, c]) => c.topics().map((t) => h("tr", {
        dataset: { client: name, topic: t.topic, seq: String(t.seq ?? ""), gaps: String(t.gaps), recovered: String(t.lastRecovered) },
      }, h("td", {}, name), h("td", { class: "mono" }, t.topic), h("td", { class: "seq" }, String(t.seq ?? "—")), h("td", {}, t.status),
      h("td", { class: "gaps" }, String(t.gaps)), h("td", {}, String(t.resets)), h("td", {}, String(t.recoveries)),
      h("td", {}, String(t.replayed)), h("td", {}, String(t.duplicates)))))));
  }

  const offs = [];
  const watch = (c) => {
    offs.push(c.on("state", refresh), c.on("open", refresh), c.on("frame", refresh), c.on("gap", refresh));
  };
  for (const c of Object.values(clients)) watch(c);
  offs.push(rt.on("frame", ({ dir, frame }) => {
    const text = JSON.stringify(frame);
    frames.prepend(h("li", { class: dir }, h("span", { class: "dir" }, dir === "in" ? "←" : "→"), " ", text.length > 300 ? `${text.slice(0, 300)}…` : text));
    while (frames.childElementCount > MAX_FRAMES) frames.lastElementChild.remove();
  }));
  offs.push(rt.on("close", ({ code, reason, delayMs }) => {
    note.textContent = `closed (${code ?? "—"}${reason ? ` ${reason}` : ""})${delayMs != null ? `; reconnecting in ${delayMs} ms` : "; staying offline"}`;
  }));
  offs.push(rt.on("open", ({ resumed }) => {
    if (resumed) note.textContent = "reconnected; topics resubscribed with since";
  }));
  offs.push(rt.on("clock", (r) => {
    clock.textContent = `last ping: ${r.rttMs} ms round trip, server clock ${r.offsetMs >= 0 ? "+" : ""}${r.offsetMs} ms from this browser`;
  }));
  // clients that panels add later (the cart's device B)
  const seen = new Set(Object.values(clients));
  const poll = setInterval(() => {
    for (const c of Object.values(clients)) if (!seen.has(c)) { seen.add(c); watch(c); refresh(); }
  }, 500);
  render();
  return {
    destroy() {
      clearInterval(poll);
      offs.forEach((off) => off());
    },
  };
}
