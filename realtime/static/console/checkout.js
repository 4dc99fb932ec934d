/**
 * The buyer's checkout under the cart (cart.js, device A): the shipping choice per store (the
 * methods the cart offers for the buyer's default shipping address, cheapest first, with their
 * price), then the orders of the checkout with their tax lines (each line and the shipping fee:
 * net, rate, tax, gross; rounded per line by the server), payment (card with the test gateway's
 * token, or the wallet), and the paid order's invoice as a PDF download.
 *
 * REST: `POST checkout/` `{shipping_methods: {vendor_id: method_id}}` (with an Idempotency-Key),
 * `POST orders/{id}/payments/` `{method, card_token}` (Idempotency-Key), `GET orders/{id}/invoices/`
 * (the invoice, null until paid), `GET invoices/{id}/pdf/` fetched with the bearer token and
 * saved from a blob (the token never goes into a URL).
 */

import { errorText, fill, flash, h, money, newId } from "./ui.js";
import { saveBlob } from "./desk.js";

/** → {el, render(cart)}: the checkout box; `render` is called with every cart state shown. */
export function checkoutBox({ session }) {
  const shippingBox = h("div", { class: "checkout-shipping" });
  const ordersBox = h("div", { class: "checkout-orders" });
  const status = h("p", { class: "status", hidden: true });
  const button = h("button", { type: "button", class: "checkout" }, "Check out");
  const el = h("div", { class: "checkout-box" }, h("h3", {}, "Checkout"), shippingBox, h("div", { class: "row" }, button), status, ordersBox);
  const chosen = new Map(); // vendor id → method id (kept across cart updates while still offered)
  let cart = null;

  function render(next) {
    cart = next;
    const shipping = next?.shipping || { address: null, stores: [] };
    button.disabled = !next || !next.lines.length;
    if (!next || !next.lines.length) return fill(shippingBox);
    const where = shipping.address
      ? h("p", { class: "muted small" }, `Ship to ${[shipping.address.postal_code, shipping.address.city, shipping.address.country].filter(Boolean).join(" ")}`)
      : h("p", { class: "status", dataset: { kind: "error" } }, "Set a default shipping address (me/addresses/) to see shipping methods.");
    fill(shippingBox, where, shipping.stores.map((store) => {
      const offered = store.methods.map((m) => m.id);
      if (!offered.includes(chosen.get(store.vendor_id))) chosen.set(store.vendor_id, offered[0]);
      const select = h("select", { class: "shipping-choice", "aria-label": `Shipping for ${store.vendor_name}`, dataset: { vendorId: store.vendor_id } },
        store.methods.length ? store.methods.map((m) => h("option", { value: m.id, selected: m.id === chosen.get(store.vendor_id) },
          `${m.name} — ${money(m.price, m.currency)}${m.min_days != null ? ` (${m.min_days}–${m.max_days ?? "?"} days)` : ""}`))
          : h("option", { value: "" }, "no method ships to your address"));
      select.addEventListener("change", () => chosen.set(store.vendor_id, select.value));
      return h("div", { class: "row store-shipping" }, h("strong", {}, store.vendor_name),
        h("span", { class: "muted small" }, `${money(store.basket_value, store.currency)} · ${store.prices_include_tax ? "prices include tax" : "tax added at checkout"}`),
        select);
    }));
  }

  button.addEventListener("click", async () => {
    if (!cart?.lines.length) return;
    const shipping_methods = {};
    for (const store of cart.shipping?.stores || []) if (chosen.get(store.vendor_id)) shipping_methods[store.vendor_id] = chosen.get(store.vendor_id);
    button.disabled = true;
    try {
      const checkout = await session.api("checkout/", { method: "POST", body: { shipping_methods }, headers: { "Idempotency-Key": newId() } });
      fill(ordersBox, h("p", { class: "small" }, `Checkout total `, h("strong", { class: "checkout-total" }, money(checkout.total, checkout.currency)),
        ` · stock reserved until ${new Date(checkout.expires_at).toLocaleTimeString()}`),
      checkout.orders.map((order) => orderCard(order)));
    } catch (err) {
      flash(status, `checkout: ${errorText(err)}${err.fields?.shipping_methods ? ` (${JSON.stringify(err.fields.shipping_methods)})` : ""}`, "error", 0);
    } finally {
      button.disabled = false;
    }
  });

  function orderCard(order) {
    const taxLine = (label, net, rate, tax, gross, cls) => h("tr", { class: cls },
      h("td", {}, label), h("td", { class: "num" }, net), h("td", { class: "num" }, `${rate} %`), h("td", { class: "num" }, tax), h("td", { class: "num" }, gross));
    const s = order.shipping;
    const payStatus = h("p", { class: "status", hidden: true });
    const docs = h("div", { class: "order-documents" });
    const method = h("select", { class: "pay-method", "aria-label": "Payment method" },
      h("option", { value: "card" }, "card (test gateway: tok_visa)"), h("option", { value: "wallet" }, "wallet"));
    const pay = h("button", { type: "button", class: "pay" }, `Pay ${money(order.total, order.currency)}`);
    const card = h("div", { class: "order-card", dataset: { orderId: order.id, status: order.status } },
      h("div", { class: "row" }, h("strong", {}, `${order.number} · ${order.vendor.name}`), h("span", { class: "pill order-status" }, order.status)),
      h("table", { class: "tax-lines small" },
        h("tr", {}, ["", "net", "rate", "tax", "gross"].map((t) => h("th", {}, t))),
        order.lines.map((l) => taxLine(`${l.quantity} × ${l.product_name}`, l.net_total, l.tax_rate, l.tax_amount, l.gross_total, "line")),
        s.method ? taxLine(`Shipping: ${s.method.name}`, s.net, s.tax_rate, s.tax, s.gross, "shipping-line") : null,
        h("tr", { class: "totals" }, h("td", {}, h("strong", {}, "Total")), h("td", { class: "num" }, order.net_total), h("td", {}),
          h("td", { class: "num tax-total" }, order.tax_total), h("td", { class: "num" }, h("strong", { class: "order-total" }, order.total)))),
      h("p", { class: "muted small" }, `${order.prices_include_tax ? "Prices include" : "Prices exclude"} tax; rates of ${order.tax_country || "the store's country"}.`),
      h("div", { class: "row" }, method, pay), payStatus, docs);
    pay.addEventListener("click", async () => {
      pay.disabled = true;
      try {
        const body = method.value === "card" ? { method: "card", card_token: "tok_visa" } : { method: "wallet" };
        const payment = await session.api(`orders/${order.id}/payments/`, { method: "POST", body, headers: { "Idempotency-Key": newId() } });
        if (payment.status !== "succeeded") {
          flash(payStatus, `payment ${payment.status}${payment.failure_code ? `: ${payment.failure_code}` : ""}`, "error", 0);
          pay.disabled = false;
          return;
        }
        card.dataset.status = "paid";
        card.querySelector(".order-status").textContent = "paid";
        pay.remove();
        method.remove();
        await showInvoice(order, docs, payStatus);
      } catch (err) {
        flash(payStatus, `pay: ${errorText(err)}`, "error", 0);
        pay.disabled = false;
      }
    });
    return card;
  }

  async function showInvoice(order, docs, payStatus) {
    try {
      const { invoice } = await session.api(`orders/${order.id}/invoices/`);
      if (!invoice) return fill(docs, h("p", { class: "muted small" }, "The invoice is issued when the payment is settled."));
      const download = h("button", { type: "button", class: "download-invoice", dataset: { invoice: invoice.number } }, `Invoice ${invoice.number} (PDF)`);
      download.addEventListener("click", async () => {
        try {
          saveBlob(await session.api(`invoices/${invoice.id}/pdf/`, { as: "blob", headers: { Accept: "application/pdf" } }), `${invoice.number}.pdf`);
        } catch (err) {
          flash(payStatus, `invoice: ${errorText(err)}`, "error", 0);
        }
      });
      fill(docs, download, h("span", { class: "muted small" }, ` net ${invoice.net_total} · tax ${invoice.tax_total} · total ${money(invoice.gross_total, invoice.currency)}`));
    } catch (err) {
      flash(payStatus, `invoice: ${errorText(err)}`, "error", 0);
    }
  }

  return { el, render };
}
