/**
 * Reviews panel: a buyer reviews the lines of their delivered orders; a store's staff answer.
 *
 *  - Buyer: delivered orders (GET /api/v1/orders/?status=delivered), an order's lines with the
 *    buyer's review of each (GET orders/{id}/reviews/), a review of an unreviewed line (POST
 *    reviews/ {order_line_id, rating 1–5, title, text, photo_ids}: photos uploaded first, multipart
 *    POST reviews/photos/), and the buyer's reviews in every state
 *    (GET reviews/) with the store's public reply and a moderation reason when staff hid one.
 *  - Store staff (`after_sales.staffStores`): the store's counted
 *    reviews (GET vendors/{id}/reviews/) with a reply form (POST reviews/{id}/reply/: the first
 *    call posts the one public reply, later calls edit it).
 *  - Marketplace staff: the reported reviews (GET reviews/reported/, most reported first, with the
 *    open reports) and hiding one with a reason (POST reviews/{id}/hide/).
 *  - Live: `review.created` and `review.updated` on `user:<me>` (the author) and `vendor:<id>`
 *    (the store's desk) replace the review shown.
 */

import { deliveredOrders, staffStores } from "./after_sales.js";
import { photoRow } from "./media.js";
import { clock, errorText, fill, flash, h } from "./ui.js";

const REVIEW_EVENTS = new Set(["review.created", "review.updated"]);

export function stars(n) {
  const k = Math.max(0, Math.min(5, Number(n) || 0));
  return "★".repeat(k) + "☆".repeat(5 - k);
}

/** A review as a list item (shared with the product panel); its photos when `session` is given. */
export function reviewItem(r, extra = null, session = null) {
  return h("li", { class: `review${r.counts === false ? " hidden-review" : ""}`, dataset: { reviewId: r.id, status: r.status || "" } },
    h("div", { class: "row between" },
      h("span", {}, h("span", { class: "stars", title: `${r.rating} of 5` }, stars(r.rating)), " ", h("strong", {}, r.title || "")),
      h("span", { class: "muted small" }, `${r.author_name}${r.verified_purchase ? " · verified purchase" : ""} · ${clock(r.created_at)}`)),
    h("div", { class: "muted small" }, r.product_name),
    r.text ? h("p", { class: "review-text" }, r.text) : null,
    session ? photoRow(session, r.photos, `Photo of the review ${r.title || ""}`.trim()) : null,
    r.status === "hidden" ? h("p", { class: "small status", dataset: { kind: "error" } }, `Hidden by marketplace staff${r.moderation_reason ? `: ${r.moderation_reason}` : ""}`) : null,
    r.reply ? h("blockquote", { class: "store-reply" }, h("strong", { class: "small" }, `${r.vendor?.name || "The store"} replied: `), r.reply.text) : null,
    extra);
}

export function mount(root, { session, rt, me }) {
  const isAdmin = (me.roles || []).includes("admin");
  const orderSelect = h("select", { class: "review-order", "aria-label": "Delivered order" }, h("option", { value: "" }, "loading orders…"));
  const lines = h("ul", { class: "review-lines" });
  const mineList = h("ul", { class: "reviews mine" });
  const storeBox = h("div", { class: "store-reviews" });
  const reported = h("div", { class: "reported-reviews" });
  const status = h("p", { class: "status", hidden: true });
  fill(root,
    h("div", { class: "row" }, h("strong", {}, "Review what you received"), orderSelect), lines,
    h("strong", {}, "Your reviews"), mineList, storeBox, reported, status);

  const mine = new Map();
  const stores = new Map(); // vendor id → {vendor, reviews: Map}
  const subs = [];
  let destroyed = false;

  const onEvent = (ev) => {
    if (!REVIEW_EVENTS.has(ev.type)) return;
    const r = ev.data.review;
    if (mine.has(r.id) || ev.topic === `user:${me.id}`) { mine.set(r.id, r); renderMine(); }
    const store = stores.get(r.vendor.id);
    if (store && ev.topic === `vendor:${r.vendor.id}`) {
      if (r.counts) store.reviews.set(r.id, r);
      else store.reviews.delete(r.id);
      renderStores();
    }
    if (orderSelect.value && ev.type === "review.created") showLines(orderSelect.value);
  };
  subs.push(rt.subscribe(`user:${me.id}`, { event: onEvent }));

  async function loadOrders() {
    try {
      const orders = await deliveredOrders(session);
      fill(orderSelect, h("option", { value: "" }, orders.length ? "Choose a delivered order…" : "No delivered orders"),
        orders.map((o) => h("option", { value: o.id }, `${o.number} — ${o.vendor?.name || ""}`)));
    } catch (err) {
      flash(status, `orders: ${errorText(err)}`, "error");
    }
  }
  orderSelect.addEventListener("change", () => showLines(orderSelect.value));

  async function showLines(orderId) {
    if (!orderId) { fill(lines); return; }
    try {
      const rows = await session.api(`orders/${orderId}/reviews/`);
      fill(lines, rows.map((l) => {
        if (l.review_id) return h("li", { class: "muted small", dataset: { orderLineId: String(l.order_line_id), reviewed: "1" } }, `${l.product_name}: reviewed`);
        const rating = h("select", { class: "rating", "aria-label": `Stars for ${l.product_name}` },
          [5, 4, 3, 2, 1].map((n) => h("option", { value: String(n) }, stars(n))));
        const title = h("input", { type: "text", class: "review-title", placeholder: "Title", "aria-label": "Title" });
        const text = h("textarea", { rows: "2", class: "review-body", placeholder: "What did you think?", "aria-label": "Review" });
        const photos = h("input", { type: "file", class: "review-photos", accept: "image/jpeg,image/png,image/gif,image/webp", multiple: true,
          "aria-label": "Photos (up to 5)" });
        const submit = h("button", { type: "button", class: "tiny post-review" }, "Post review");
        submit.addEventListener("click", async () => {
          submit.disabled = true;
          try {
            if (photos.files.length > 5) throw new Error("At most 5 photos.");
            const photoIds = [];
            for (const file of photos.files) { // uploaded first (re-encoded by the server), then attached by id
              const body = new FormData();
              body.append("file", file);
              photoIds.push((await session.api("reviews/photos/", { method: "POST", body })).id);
            }
            const r = await session.api("reviews/", { method: "POST", body: {
              order_line_id: l.order_line_id, rating: Number(rating.value), title: title.value.trim(), text: text.value.trim(),
              photo_ids: photoIds } });
            mine.set(r.id, r);
            renderMine();
            showLines(orderId);
          } catch (err) {
            flash(status, `review: ${errorText(err)}`, "error");
            submit.disabled = false;
          }
        });
        return h("li", { class: "review-form", dataset: { orderLineId: String(l.order_line_id) } },
          h("strong", {}, l.product_name), h("div", { class: "row" }, rating, title, submit), text,
          h("label", { class: "small muted" }, "photos (up to 5) ", photos));
      }));
    } catch (err) {
      fill(lines, h("li", { class: "status", dataset: { kind: "error" } }, errorText(err)));
    }
  }

  async function loadMine() {
    try {
      const page = await session.api("reviews/?limit=20");
      for (const r of page.results || []) mine.set(r.id, r);
      renderMine();
    } catch (err) {
      flash(status, `reviews: ${errorText(err)}`, "error");
    }
  }

  function renderMine() {
    const rows = [...mine.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    fill(mineList, rows.length ? rows.map((r) => reviewItem(r, null, session)) : h("li", { class: "muted" }, "You have not reviewed anything yet."));
  }

  async function loadStores() {
    try {
      for (const v of await staffStores(session, me)) { // the reply is the store's staff's, not marketplace staff's
        if (destroyed) continue;
        const reviews = await session.api(`vendors/${v.id}/reviews/?limit=10`);
        stores.set(v.id, { vendor: v, reviews: new Map((reviews.results || []).map((r) => [r.id, r])) });
        subs.push(rt.subscribe(`vendor:${v.id}`, { event: onEvent, error: () => {} }));
      }
      renderStores();
    } catch (err) {
      flash(status, `store reviews: ${errorText(err)}`, "error");
    }
  }

  function renderStores() {
    fill(storeBox, [...stores.values()].map(({ vendor, reviews }) => h("div", { class: "store", dataset: { vendorId: vendor.id } },
      h("strong", {}, `Reviews of ${vendor.name}`),
      h("ul", { class: "reviews store-list" }, reviews.size ? [...reviews.values()].map((r) => {
        const text = h("input", { type: "text", class: "reply-text", placeholder: r.reply ? "Edit your reply" : "Public reply", value: r.reply?.text || "", "aria-label": "Reply" });
        const send = h("button", { type: "button", class: "tiny ghost reply" }, r.reply ? "Edit reply" : "Reply");
        send.addEventListener("click", async () => {
          send.disabled = true;
          try {
            const updated = await session.api(`reviews/${r.id}/reply/`, { method: "POST", body: { text: text.value.trim() } });
            reviews.set(updated.id, updated);
            renderStores();
          } catch (err) {
            flash(status, `reply: ${errorText(err)}`, "error");
            send.disabled = false;
          }
        });
        return reviewItem(r, h("div", { class: "row" }, text, send), session);
      }) : h("li", { class: "muted" }, "No reviews yet.")))));
  }

  /** Marketplace staff: reviews with open reports, most reported first (GET reviews/reported/), hidden with a reason. */
  async function loadReported() {
    if (!isAdmin) return;
    let rows;
    try {
      rows = (await session.api("reviews/reported/?limit=20")).results || [];
    } catch (err) {
      flash(status, `reported reviews: ${errorText(err)}`, "error");
      return;
    }
    fill(reported, h("div", { class: "row between" }, h("strong", {}, "Reported reviews"),
      h("button", { type: "button", class: "tiny ghost", title: "Reload", onclick: () => loadReported() }, "↻")),
    h("ul", { class: "reviews reported" }, rows.length ? rows.map((r) => {
      const reason = h("input", { type: "text", class: "hide-reason", placeholder: "reason (the author and the store see it)", "aria-label": "Reason" });
      const hide = h("button", { type: "button", class: "tiny hide" }, "Hide");
      hide.addEventListener("click", async () => {
        hide.disabled = true;
        try {
          await session.api(`reviews/${r.id}/hide/`, { method: "POST", body: { reason: reason.value.trim() } });
          loadReported();
        } catch (err) {
          flash(status, `hide: ${errorText(err)}`, "error");
          hide.disabled = false;
        }
      });
      return reviewItem(r, [
        h("div", { class: "small muted" }, `${r.open_reports} open report${r.open_reports === 1 ? "" : "s"}: `,
          (r.reports || []).map((x) => x.reason.replaceAll("_", " ") + (x.text ? ` (“${x.text}”)` : "")).join(", ")),
        h("div", { class: "row" }, reason, hide)], session);
    }) : h("li", { class: "muted" }, "No open reports.")));
  }

  loadOrders();
  loadMine();
  loadStores();
  loadReported();
  return {
    destroy() {
      destroyed = true;
      for (const s of subs) s.unsubscribe();
    },
  };
}
