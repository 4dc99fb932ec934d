/**
 * Cart panel: the signed-in user's cart on two "devices", each with its own socket subscribed to
 * `cart:<user_id>`. Pane A writes with socket commands (add_item, set_quantity, remove_item,
 * clear) on the page's main socket; pane B writes through the REST API (/api/v1/cart/…) and has
 * a second, independent socket. Each pane renders the snapshot, every `cart.updated` event and
 * its own write's result, keeping the highest `version` (events and replies may cross).
 * Below the panes, the checkout (checkout.js) follows pane A's cart: shipping per store, tax
 * lines, payment and the invoice PDF.
 */

import { errorText, fill, flash, h, money, statePill } from "./ui.js";
import { checkoutBox } from "./checkout.js";

export function mount(root, { session, rt, me, RealtimeClient, clients }) {
  const topic = `cart:${me.id}`;
  const deviceB = new RealtimeClient({ auth: session, name: "cart-B" });
  clients.cartB = deviceB;
  let products = [];
  const checkout = checkoutBox({ session });

  const panes = [
    makePane("a", "Device A", "socket commands on the page's socket", rt, {
      add: (productId, quantity) => rt.command(topic, "add_item", { product_id: productId, quantity }),
      setQuantity: (line, quantity) => rt.command(topic, "set_quantity", { item_id: line.id, quantity }),
      remove: (line) => rt.command(topic, "remove_item", { item_id: line.id }),
      clear: () => rt.command(topic, "clear", {}),
    }),
    makePane("b", "Device B", "REST API, its own socket", deviceB, {
      add: (productId, quantity) => session.api("cart/items/", { method: "POST", body: { product_id: productId, quantity } }),
      setQuantity: (line, quantity) => session.api(`cart/items/${line.id}/`, { method: "PATCH", body: { quantity } }),
      remove: (line) => session.api(`cart/items/${line.id}/`, { method: "DELETE" }),
      clear: () => session.api("cart/", { method: "DELETE" }),
    }),
  ];
  fill(root, h("p", { class: "muted" }, "Both panes show ", h("code", {}, topic),
    ": change one and watch the other follow."), h("div", { class: "panes" }, panes.map((p) => p.el)), checkout.el);

  function makePane(key, title, subtitle, client, actions) {
    let cart = null;
    const state = { version: -1 };
    const lines = h("ul", { class: "cart-lines" });
    const total = h("div", { class: "cart-total" });
    const status = h("p", { class: "status", hidden: true });
    const select = h("select", { "aria-label": "Product" }, h("option", { value: "" }, "loading products…"));
    const qty = h("input", { type: "number", min: "1", max: "999", value: "1", class: "qty-input", "aria-label": "Quantity" });
    const addButton = h("button", { type: "button", class: "add" }, "Add");
    const clearButton = h("button", { type: "button", class: "ghost clear" }, "Clear");
    const versionTag = h("span", { class: "muted version" }, "");
    const el = h("div", { class: "pane", dataset: { pane: key, version: "" } },
      h("div", { class: "pane-head" }, h("strong", {}, title), statePill(client), versionTag),
      h("p", { class: "muted small" }, subtitle),
      lines, total,
      h("div", { class: "row" }, select, qty, addButton, clearButton),
      status);

    const run = async (label, fn) => {
      try {
        const result = await fn();
        if (result && typeof result.version === "number") render(result);
      } catch (err) {
        flash(status, `${label}: ${errorText(err)}`, "error");
      }
    };
    addButton.addEventListener("click", () => {
      if (!select.value) return;
      run("add", () => actions.add(select.value, Number(qty.value) || 1));
    });
    clearButton.addEventListener("click", () => run("clear", () => actions.clear()));

    function render(next) {
      if (!next || next.version < state.version) return; // an older state than the one shown
      state.version = next.version;
      cart = next;
      el.dataset.version = String(next.version);
      versionTag.textContent = `v${next.version}`;
      if (key === "a") checkout.render(next);
      fill(lines, next.lines.length ? next.lines.map((line) => h("li", {
        class: line.in_stock ? "" : "warn", dataset: { line: line.id, productId: line.product.id, quantity: String(line.quantity) },
      },
      h("span", { class: "name" }, line.product.name, line.available ? null : h("em", {}, " (unavailable)")),
      h("span", { class: "qty" },
        h("button", { type: "button", class: "tiny dec", title: "One less", onclick: () => run("quantity", () => (line.quantity > 1 ? actions.setQuantity(line, line.quantity - 1) : actions.remove(line))) }, "−"),
        h("span", { class: "qty-value" }, String(line.quantity)),
        h("button", { type: "button", class: "tiny inc", title: "One more", onclick: () => run("quantity", () => actions.setQuantity(line, line.quantity + 1)) }, "+")),
      h("span", { class: "amount" }, money(line.line_total, line.currency)),
      h("button", { type: "button", class: "tiny ghost remove", title: "Remove", onclick: () => run("remove", () => actions.remove(line)) }, "×"),
      )) : h("li", { class: "muted empty" }, "The cart is empty."));
      fill(total, `${next.item_count} item${next.item_count === 1 ? "" : "s"} · total `, h("strong", {}, money(next.total, next.currency)));
    }

    function fillProducts() {
      fill(select, products.length
        ? products.map((p) => h("option", { value: p.id }, `${p.name} — ${money(p.price, p.currency)} (${p.stock} in stock)`))
        : h("option", { value: "" }, "no products in stock"));
    }

    const sub = client.subscribe(topic, {
      snapshot: (data) => { state.version = -1; render(data); },
      event: (ev) => { if (ev.type === "cart.updated") render(ev.data); },
      error: (err) => flash(status, `subscribe: ${errorText(err)}`, "error", 0),
    });
    return { el, sub, fillProducts, get cart() { return cart; } };
  }

  session.api("products/?in_stock=true&limit=12&ordering=name").then((page) => {
    products = page.results || [];
    panes.forEach((p) => p.fillProducts());
  }).catch((err) => panes.forEach((p) => flash(p.el.querySelector(".status"), `products: ${errorText(err)}`, "error", 0)));

  deviceB.connect().catch(() => {});
  return {
    destroy() {
      panes.forEach((p) => p.sub.unsubscribe());
      deviceB.close();
      delete clients.cartB;
    },
  };
}
