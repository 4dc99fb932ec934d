/**
 * Live product page: one product on `product:<id>` (any signed-in user who may see it).
 *
 * The snapshot is the page (the body of GET /api/v1/products/{id}/): price, units in stock and
 * "low stock" (never a reservation's details), availability, the rating (average, count,
 * distribution 1–5) and the latest counted reviews. Events change it in place:
 * `product.updated` (the whole page again), `product.rating_changed` ({rating}),
 * `product.reviews_changed` ({latest_reviews}) and `product.unavailable` ({reason, updated_at}:
 * the page stays, marked unavailable). The picker lists products by rating
 * (GET products/?ordering=-rating); any id can be pasted. A review can be reported to marketplace
 * staff from here (POST reviews/{id}/report/ with a reason).
 */

import { clock, errorText, fill, h, money } from "./ui.js";
import { reviewItem, stars } from "./reviews.js";

const REPORT_REASONS = [["spam", "spam or advertising"], ["offensive", "offensive"], ["off_topic", "not about the product"],
  ["fake", "fake or paid"], ["personal_data", "personal data"], ["other", "other"]];

export function mount(root, { session, rt }) {
  const picker = h("select", { class: "product-pick", "aria-label": "Product" }, h("option", { value: "" }, "loading products…"));
  const idInput = h("input", { type: "text", placeholder: "product id", class: "id-input", "aria-label": "Product id" });
  const openButton = h("button", { type: "button", class: "ghost" }, "Open");
  const view = h("div", { class: "product-view" });
  fill(root, h("div", { class: "row" }, picker, idInput, openButton), view);
  picker.addEventListener("change", () => picker.value && open(picker.value));
  openButton.addEventListener("click", () => idInput.value.trim() && open(idInput.value.trim()));

  let current = null; // {id, sub, page, unavailable: reason | null, changed: Set of fields that just changed}

  async function loadList() {
    try {
      const page = await session.api("products/?limit=20&ordering=-rating");
      const products = page.results || [];
      fill(picker, h("option", { value: "" }, products.length ? "Choose a product…" : "No products"),
        products.map((p) => h("option", { value: p.id }, `${p.name} — ${money(p.price, p.currency)}${p.rating?.count ? ` · ${p.rating.average}★` : ""}`)));
    } catch (err) {
      fill(picker, h("option", { value: "" }, "products unavailable"));
    }
  }

  function close() {
    if (!current) return;
    current.sub.unsubscribe();
    current = null;
  }

  function open(id) {
    if (current?.id === id) return;
    close();
    const c = { id, page: null, unavailable: null, changed: new Set() };
    current = c;
    if (picker.value !== id) picker.value = "";
    fill(view, h("p", { class: "muted" }, "Loading…"));
    c.sub = rt.subscribe(`product:${id}`, {
      snapshot(page) {
        if (current !== c) return;
        c.page = page;
        c.unavailable = page.available ? null : "unavailable";
        c.changed.clear();
        render();
      },
      event(ev) {
        if (current !== c || !c.page) return;
        const d = ev.data;
        const before = c.page;
        if (ev.type === "product.updated") {
          c.page = d;
          c.unavailable = d.available ? null : c.unavailable || "unavailable";
          c.changed = new Set(["price", "stock", "rating"].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(d[k])));
        } else if (ev.type === "product.rating_changed") {
          c.page = { ...before, rating: d.rating };
          c.changed = new Set(["rating"]);
        } else if (ev.type === "product.reviews_changed") {
          c.page = { ...before, latest_reviews: d.latest_reviews };
          c.changed = new Set(["reviews"]);
        } else if (ev.type === "product.unavailable") {
          c.page = { ...before, available: false, updated_at: d.updated_at, is_active: d.reason === "deactivated" ? false : before.is_active };
          c.unavailable = d.reason;
          c.changed = new Set(["available"]);
        } else return;
        render();
      },
      error(err) {
        if (current !== c) return;
        fill(view, h("p", { class: "status", dataset: { kind: "error" } }, `product: ${errorText(err)}`));
      },
    });
  }

  function render() {
    const c = current;
    const p = c.page;
    const r = p.rating || { average: null, count: 0, distribution: [0, 0, 0, 0, 0] };
    const most = Math.max(1, ...r.distribution);
    const flashIf = (key) => (c.changed.has(key) ? " changed" : "");
    const stock = !p.in_stock ? h("span", { class: "pill", dataset: { state: "offline" } }, "out of stock")
      : p.low_stock ? h("span", { class: "pill", dataset: { state: "connecting" } }, `low stock: ${p.stock} left`)
        : h("span", { class: "pill", dataset: { state: "open" } }, `${p.stock} in stock`);
    fill(view,
      h("div", { class: "product-page", dataset: { productId: p.id, available: String(Boolean(p.available)), stock: String(p.stock),
        lowStock: String(Boolean(p.low_stock)), price: p.price, ratingCount: String(r.count) } },
      h("div", { class: "row between" }, h("strong", { class: "product-name" }, p.name),
        h("span", { class: "muted small" }, `${p.vendor?.name || ""} · ${p.sku} · updated ${clock(p.updated_at)}`)),
      c.unavailable ? h("p", { class: "status unavailable-note", dataset: { kind: "error" } },
        `No longer on sale (${String(c.unavailable).replaceAll("_", " ")}).`) : null,
      h("div", { class: "row" }, h("span", { class: `price product-price${flashIf("price")}` }, money(p.price, p.currency)),
        h("span", { class: `product-stock${flashIf("stock")}` }, stock)),
      h("div", { class: `rating${flashIf("rating")}` },
        h("span", { class: "stars" }, stars(Math.round(Number(r.average) || 0))), " ",
        h("strong", { class: "rating-average" }, r.average ?? "—"), h("span", { class: "muted" }, ` (${r.count} review${r.count === 1 ? "" : "s"})`),
        h("ol", { class: "distribution" }, [5, 4, 3, 2, 1].map((n) => h("li", { dataset: { stars: String(n) } },
          h("span", { class: "small" }, `${n}★`),
          h("meter", { min: "0", max: String(most), value: String(r.distribution[n - 1]) }),
          h("span", { class: "small muted" }, String(r.distribution[n - 1])))))),
      h("strong", { class: "small" }, "Latest reviews"),
      h("ul", { class: `reviews latest${flashIf("reviews")}` }, (p.latest_reviews || []).length
        ? p.latest_reviews.map((rev) => reviewItem(rev, reportForm(rev), session)) : h("li", { class: "muted" }, "No reviews yet."))));
  }

  /** "Report" for marketplace staff to look at (POST reviews/{id}/report/; once per person, never the author). */
  function reportForm(review) {
    const reason = h("select", { class: "report-reason", "aria-label": "Why report this review" },
      REPORT_REASONS.map(([v, label]) => h("option", { value: v }, label)));
    const button = h("button", { type: "button", class: "tiny ghost report" }, "Report");
    const note = h("span", { class: "small muted report-state" });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await session.api(`reviews/${review.id}/report/`, { method: "POST", body: { reason: reason.value } });
        note.textContent = "reported, thank you";
      } catch (err) {
        note.textContent = errorText(err);
        button.disabled = false;
      }
    });
    return h("div", { class: "row" }, reason, button, note);
  }

  loadList();
  return { destroy: close };
}
