/**
 * Notification bell and inbox: the unread count lives on `user:<id>` (snapshot
 * `notifications.unread`/`unseen`, then `notification.counts` after every change: the last one
 * received is the truth); `notification.created` adds to the list, `notification.updated` and
 * `notification.read_all` change read states. Reads and "mark all read" go through REST
 * (/api/v1/notifications/…); the new counts come back over the socket.
 */

import { clock, errorText, fill, flash, h } from "./ui.js";

function bellIcon() {
  const span = h("span", { class: "bell-icon", "aria-hidden": "true" });
  span.innerHTML = document.querySelector("#bell svg")?.outerHTML || "";
  return span;
}

export function mount(root, { session, rt, me }) {
  const badge = document.getElementById("bell-count");
  const big = h("span", { id: "notif-unread", class: "big-count", dataset: { count: "0" } }, "0");
  const unseen = h("span", { class: "muted" });
  const list = h("ul", { class: "notifications" });
  const status = h("p", { class: "status", hidden: true });
  const readAll = h("button", { type: "button", class: "ghost", onclick: () => act(() => session.api("notifications/read-all/", { method: "POST" })) }, "Mark all read");
  fill(root,
    h("div", { class: "row between" }, h("div", {}, bellIcon(), big, " unread ", unseen), readAll),
    list, status);

  let items = [];

  function setCounts({ unread = 0, unseen: notSeen = 0 }) {
    for (const el of [badge, big]) {
      el.textContent = String(unread);
      el.dataset.count = String(unread);
    }
    badge.hidden = false;
    unseen.textContent = `· ${notSeen} unseen`;
  }

  async function act(fn) {
    try {
      await fn();
    } catch (err) {
      flash(status, errorText(err), "error");
    }
  }

  async function loadList() {
    try {
      const page = await session.api("notifications/?page_size=8");
      items = page.results || [];
      render();
    } catch (err) {
      flash(status, `inbox: ${errorText(err)}`, "error", 0);
    }
  }

  function render() {
    fill(list, items.length ? items.slice(0, 8).map((n) => h("li", {
      class: n.read_at ? "read" : "unread", dataset: { id: n.id },
      onclick: () => act(() => session.api(`notifications/${n.id}/${n.read_at ? "unread" : "read"}/`, { method: "POST" })),
      title: n.read_at ? "Click to mark unread" : "Click to mark read",
    }, h("div", { class: "row between" }, h("strong", {}, n.title), h("span", { class: "muted small" }, clock(n.created_at))),
    n.body ? h("div", { class: "small" }, n.body) : null,
    h("div", { class: "muted small" }, n.kind))) : h("li", { class: "muted" }, "No notifications."));
  }

  const sub = rt.subscribe(`user:${me.id}`, {
    snapshot(snap) {
      setCounts(snap.notifications || {});
      loadList(); // the inbox may have changed while we were away
    },
    event(ev) {
      const d = ev.data;
      if (ev.type === "notification.counts") setCounts(d);
      else if (ev.type === "notification.created") {
        if (!items.some((n) => n.id === d.id)) items.unshift(d);
        render();
      } else if (ev.type === "notification.updated") {
        items = items.map((n) => (n.id === d.id ? { ...n, ...d } : n)).filter((n) => !n.archived_at);
        render();
      } else if (ev.type === "notification.read_all") {
        items = items.map((n) => (n.read_at ? n : { ...n, read_at: d.read_at, seen_at: n.seen_at || d.read_at }));
        render();
      } else if (ev.type === "notification.seen_all") {
        items = items.map((n) => (n.seen_at ? n : { ...n, seen_at: d.seen_at }));
        render();
      }
    },
    error: (err) => flash(status, `user topic: ${errorText(err)}`, "error", 0),
  });

  return {
    open() {
      root.closest(".card")?.scrollIntoView({ behavior: "smooth", block: "center" });
      act(() => session.api("notifications/seen/", { method: "POST" }));
    },
    destroy() {
      sub.unsubscribe();
      badge.textContent = "0";
      badge.dataset.count = "0";
    },
  };
}
