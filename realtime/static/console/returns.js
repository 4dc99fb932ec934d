/**
 * Returns panel (RMA): the signed-in user's returns, as the buyer and as a store's staff, live.
 *
 *  - Buyer: delivered orders (GET /api/v1/orders/?status=delivered) and what of one can still be
 *    returned (GET orders/{id}/returnable/: the window and, per line, the returnable units); a
 *    request with units per line, a reason code, a text and up to 5 photos (each uploaded first,
 *    multipart POST returns/photos/, then attached by id: POST orders/{id}/returns/); then, by the
 *    return's `allowed_actions`: cancel, ship with a carrier and tracking number
 *    (POST returns/{id}/ship/ {transport: "carrier"}) or ask for a courier pickup
 *    ({transport: "courier"}: a return delivery for the courier flow), escalate a rejected return.
 *  - Store staff: approve, reject with a reason, receive, inspect (a grade per line), refund
 *    (restocking fee percent and refund of the shipping fee for changed-mind returns).
 *  - Live: `return.requested`, `return.status_changed`, `return.updated` on `user:<me>` (the
 *    buyer) and on `vendor:<id>` of each store the user is staff of (`after_sales.staffStores`). An event carries the return without the viewer's
 *    `allowed_actions`, so the panel re-reads that return (GET returns/{id}/) after each one.
 */

import { deliveredOrders, staffStores } from "./after_sales.js";
import { photoRow } from "./media.js";
import { clock, errorText, fill, flash, h, money, newId } from "./ui.js";

const REASONS = [
  ["wrong_item", "Wrong item"], ["damaged", "Arrived damaged"], ["not_as_described", "Not as described"],
  ["changed_mind", "Changed my mind"], ["other", "Other"],
];
const MAX_PHOTOS = 5;
const GRADES = [["as_new", "as new"], ["opened", "opened"], ["damaged", "damaged"], ["not_returned", "not returned"]];
const RETURN_EVENTS = new Set(["return.requested", "return.status_changed", "return.updated"]);
/** states in which nobody can act on a return any more (rejected ones may still be escalated) */
const FINAL = new Set(["refunded", "partially_refunded", "cancelled"]);

export function mount(root, { session, rt, me }) {
  const orderSelect = h("select", { class: "return-order", "aria-label": "Delivered order" }, h("option", { value: "" }, "loading orders…"));
  const requestForm = h("div", { class: "return-request" });
  const list = h("ul", { class: "returns" });
  const status = h("p", { class: "status", hidden: true });
  fill(root,
    h("div", { class: "row" }, h("strong", {}, "Return a delivered order"), orderSelect),
    requestForm,
    h("div", { class: "row between" }, h("strong", {}, "Your returns"),
      h("button", { type: "button", class: "tiny ghost", title: "Reload", onclick: () => loadReturns() }, "↻")),
    list, status);

  const returns = new Map(); // id → return detail (with allowed_actions)
  const subs = [];
  let destroyed = false;

  /** Keep `detail` unless a newer state of that return is already shown (replies, events and
   * re-reads may cross; `updated_at` orders them: ISO 8601 UTC strings of one format). */
  function keep(detail) {
    const known = returns.get(detail.id);
    if (known && known.updated_at > detail.updated_at) return false;
    returns.set(detail.id, detail);
    return true;
  }

  const onEvent = (ev) => {
    if (!RETURN_EVENTS.has(ev.type)) return;
    const rma = ev.data.return;
    const known = returns.get(rma.id);
    if (!keep({ ...rma, allowed_actions: known?.allowed_actions || [], history: known?.history || [] })) return;
    render();
    refresh(rma.id);
    if (ev.type !== "return.requested" && orderSelect.value === rma.order.id) showRequestForm(rma.order.id);
  };
  subs.push(rt.subscribe(`user:${me.id}`, { event: onEvent }));

  async function subscribeStores() {
    try {
      for (const v of await staffStores(session, me)) { // admins see every return on REST; the desks are the stores'
        if (!destroyed) subs.push(rt.subscribe(`vendor:${v.id}`, { event: onEvent, error: () => {} }));
      }
    } catch (err) {
      flash(status, `stores: ${errorText(err)}`, "error");
    }
  }

  async function refresh(id) {
    try {
      if (keep(await session.api(`returns/${id}/`))) render();
    } catch (err) {
      flash(status, `return: ${errorText(err)}`, "error");
    }
  }

  async function loadReturns() {
    try {
      const page = await session.api("returns/?limit=20");
      const rows = page.results || [];
      // the list has no viewer fields: read allowed_actions of the returns that may still have some
      const details = await Promise.all(rows.map((r) => (FINAL.has(r.status) ? { ...r, allowed_actions: [] } : session.api(`returns/${r.id}/`))));
      returns.clear();
      for (const d of details) returns.set(d.id, d);
      render();
    } catch (err) {
      flash(status, `returns: ${errorText(err)}`, "error", 0);
    }
  }

  async function loadOrders() {
    try {
      const orders = await deliveredOrders(session);
      fill(orderSelect, h("option", { value: "" }, orders.length ? "Choose a delivered order…" : "No delivered orders"),
        orders.map((o) => h("option", { value: o.id }, `${o.number} — ${o.vendor?.name || ""} (${money(o.total, o.currency)})`)));
    } catch (err) {
      fill(orderSelect, h("option", { value: "" }, "orders unavailable"));
      flash(status, `orders: ${errorText(err)}`, "error");
    }
  }
  orderSelect.addEventListener("change", () => showRequestForm(orderSelect.value));

  async function showRequestForm(orderId) {
    if (!orderId) { fill(requestForm); return; }
    let r;
    try {
      r = await session.api(`orders/${orderId}/returnable/`);
    } catch (err) {
      fill(requestForm, h("p", { class: "status", dataset: { kind: "error" } }, errorText(err)));
      return;
    }
    const open = r.open && r.lines.some((l) => l.returnable_quantity > 0);
    const inputs = r.lines.map((l) => h("input", {
      type: "number", min: "0", max: String(l.returnable_quantity), value: l.returnable_quantity ? "1" : "0",
      class: "qty-input", disabled: !l.returnable_quantity, dataset: { orderLineId: String(l.order_line_id) },
      "aria-label": `Units of ${l.product_name} to return`,
    }));
    const reason = h("select", { name: "reason", "aria-label": "Reason" }, REASONS.map(([v, label]) => h("option", { value: v }, label)));
    const text = h("textarea", { rows: "2", name: "description", placeholder: "What is wrong? (the store reads this)" });
    const photos = h("input", { type: "file", name: "photos", accept: "image/jpeg,image/png,image/gif,image/webp", multiple: true,
      "aria-label": `Photos (up to ${MAX_PHOTOS})` });
    const submit = h("button", { type: "button", class: "request-return", disabled: !open }, "Request return");
    fill(requestForm,
      h("p", { class: "muted small" }, r.window_ends_at
        ? `Return window ${r.open ? "open until" : "closed on"} ${new Date(r.window_ends_at).toLocaleString()}`
        : "This order has no return window."),
      h("table", { class: "lines" }, r.lines.map((l, i) => h("tr", {},
        h("td", {}, l.product_name, h("span", { class: "muted small" }, ` ${l.sku}`)),
        h("td", { class: "muted small" }, `${l.returnable_quantity} of ${l.quantity} returnable`),
        h("td", {}, inputs[i])))),
      h("div", { class: "row" }, reason, h("label", { class: "small muted" }, `photos (up to ${MAX_PHOTOS}) `, photos), submit), text);
    submit.addEventListener("click", () => act(submit, "request", async () => {
      const lines = inputs.map((el) => ({ order_line_id: Number(el.dataset.orderLineId), quantity: Number(el.value) || 0 }))
        .filter((l) => l.quantity > 0);
      if ((photos.files?.length || 0) > MAX_PHOTOS) throw new Error(`At most ${MAX_PHOTOS} photos.`);
      const photoIds = [];
      for (const file of photos.files || []) { // uploaded first (re-encoded by the server), then attached by id
        const body = new FormData();
        body.append("file", file);
        photoIds.push((await session.api("returns/photos/", { method: "POST", body })).id);
      }
      const rma = await session.api(`orders/${orderId}/returns/`, {
        method: "POST", body: { lines, reason: reason.value, description: text.value.trim(), photo_ids: photoIds },
      });
      keep(rma);
      render();
      showRequestForm(orderId);
    }));
  }

  async function act(button, label, fn) {
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      flash(status, `${label}: ${errorText(err)}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  function post(rma, action, body = {}, headers = {}) {
    return session.api(`returns/${rma.id}/${action}/`, { method: "POST", body, headers })
      .then((detail) => { keep(detail); render(); });
  }

  function actions(rma) {
    const allowed = new Set(rma.allowed_actions || []);
    const out = [];
    const button = (name, label, fn, cls = "") => {
      const b = h("button", { type: "button", class: `tiny ${cls}`, dataset: { action: name } }, label);
      b.addEventListener("click", () => act(b, name, fn));
      return b;
    };
    if (allowed.has("approve")) out.push(button("approve", "Approve", () => post(rma, "approve")));
    if (allowed.has("reject")) {
      const reason = h("input", { type: "text", placeholder: "why (the buyer sees it)", class: "reject-reason", "aria-label": "Rejection reason" });
      out.push(h("span", { class: "row" }, reason, button("reject", "Reject", () => post(rma, "reject", { reason: reason.value.trim() }), "ghost")));
    }
    if (allowed.has("ship")) {
      const carrier = h("input", { type: "text", placeholder: "carrier", value: "DHL", class: "carrier", "aria-label": "Carrier" });
      const tracking = h("input", { type: "text", placeholder: "tracking number", class: "tracking", "aria-label": "Tracking number" });
      out.push(h("span", { class: "row" }, carrier, tracking, button("ship", "Sent", () => post(rma, "ship",
        { transport: "carrier", carrier: carrier.value.trim(), tracking_number: tracking.value.trim() })),
      // a courier already on the way: only switching to a carrier (which cancels the pickup) is left
      rma.transport === "courier" ? null : button("courier", "Courier pickup", () => post(rma, "ship", { transport: "courier" }), "ghost")));
    }
    if (allowed.has("cancel")) out.push(button("cancel", "Cancel return", () => post(rma, "cancel"), "ghost"));
    if (allowed.has("escalate")) {
      const why = h("input", { type: "text", placeholder: "why the rejection is wrong", class: "escalate-text", "aria-label": "Escalation" });
      out.push(h("span", { class: "row" }, why, button("escalate", "Escalate to the marketplace", () => post(rma, "escalate", { description: why.value.trim() }), "ghost")));
    }
    if (allowed.has("receive")) out.push(button("receive", "Parcel received", () => post(rma, "receive")));
    if (allowed.has("inspect")) {
      const selects = rma.lines.map((l) => h("select", { class: "grade", dataset: { lineId: String(l.id) }, "aria-label": `Grade of ${l.product_name}` },
        GRADES.map(([v, label]) => h("option", { value: v }, label))));
      out.push(h("span", { class: "row" }, rma.lines.map((l, i) => h("label", { class: "small" }, `${l.product_name} `, selects[i])),
        button("inspect", "Inspected", () => post(rma, "inspect", { lines: selects.map((s) => ({ id: Number(s.dataset.lineId), grade: s.value })) }))));
    }
    if (allowed.has("refund")) {
      const buyerSide = rma.reason === "changed_mind" || rma.reason === "other";
      const fee = h("input", { type: "number", min: "0", max: "100", step: "0.01", value: "0", class: "fee", "aria-label": "Restocking fee %" });
      const shipping = h("input", { type: "checkbox", class: "refund-shipping", "aria-label": "Refund the shipping fee" });
      const key = newId(); // one key per refund form: a retried click cannot refund twice
      out.push(h("span", { class: "row" },
        buyerSide ? [h("label", { class: "small" }, "restocking fee % ", fee), h("label", { class: "small" }, shipping, " refund shipping")] : null,
        button("refund", "Refund", () => post(rma, "refund",
          buyerSide ? { restocking_fee_percent: String(fee.value || "0"), refund_shipping: shipping.checked } : {},
          { "Idempotency-Key": key }))));
    }
    return out;
  }

  function refundLine(rma) {
    const r = rma.refund;
    const currency = rma.order.currency;
    if (Number(r.amount) === 0) return h("div", { class: "small refund", dataset: { amount: r.amount } }, "Nothing refunded (by the inspection's grades)");
    return h("div", { class: "small refund", dataset: { amount: r.amount } }, "Refunded ", h("strong", {}, money(r.amount, currency)),
      r.source ? ` from the ${r.source.replace("_", " ")}` : "",
      Number(r.restocking_fee) ? `, less a ${r.restocking_fee_percent}% restocking fee (${money(r.restocking_fee, currency)})` : "",
      Number(r.shipping) ? `, shipping ${money(r.shipping, currency)} included` : "");
  }

  function render() {
    const sorted = [...returns.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    fill(list, sorted.length ? sorted.map((rma) => {
      const side = rma.order.buyer_id === me.id ? "buyer" : "store";
      return h("li", { class: "return", dataset: { returnId: rma.id, status: rma.status, side } },
        h("div", { class: "row between" },
          h("span", {}, h("strong", {}, rma.number), " · ", rma.order.number, " · ",
            h("span", { class: "muted" }, side === "buyer" ? rma.order.vendor.name : "to your store")),
          h("span", { class: "pill return-status", dataset: { state: rma.status } }, rma.status.replaceAll("_", " "))),
        h("div", { class: "muted small" },
          rma.lines.map((l) => `${l.quantity} × ${l.product_name}${l.grade ? ` (${l.grade.replace("_", " ")})` : ""}`).join(", "),
          " · ", rma.reason.replaceAll("_", " "),
          rma.tracking_number ? ` · ${rma.carrier} ${rma.tracking_number}` : "",
          rma.transport === "courier" ? ` · courier${rma.pickup_delivery_id ? ` (delivery ${rma.pickup_delivery_id.slice(0, 8)})` : ""}` : "",
          ` · ${clock(rma.updated_at)}`),
        rma.description ? h("div", { class: "small" }, "Buyer: ", rma.description) : null,
        photoRow(session, rma.photos, `Photo of return ${rma.number}`),
        rma.decision?.note ? h("div", { class: "small" }, "Store: ", rma.decision.note) : null,
        rma.refund ? refundLine(rma) : null,
        rma.refund_error ? h("div", { class: "small status", dataset: { kind: "error" } }, `refund failed: ${rma.refund_error}`) : null,
        rma.escalation ? h("div", { class: "small" }, `Escalated: dispute ${rma.escalation.status}`) : null,
        h("div", { class: "row actions" }, actions(rma)));
    }) : h("li", { class: "muted" }, "No returns yet."));
  }

  loadOrders();
  loadReturns();
  subscribeStores();
  return {
    destroy() {
      destroyed = true;
      for (const s of subs) s.unsubscribe();
    },
  };
}
