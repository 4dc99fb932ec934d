/**
 * Shipping panel (the store's owners and managers): the store's shipping methods with their zone
 * and rate rule, a form that creates one or edits the one clicked, and a short form that adds a
 * zone (countries, or "rest of world").
 *
 * Rules (commerce/shipping): `flat` (price), `weight` (bands "max grams:price", each covering the
 * weights above the previous band), `courier` (base price plus price per started km from the
 * pickup point, up to a distance); any rule may be free above a basket value.
 * REST: `GET/POST vendors/{id}/shipping-methods/`, `PATCH/DELETE …/{method_id}/`,
 * `GET/POST vendors/{id}/shipping-zones/`. Amounts stay decimal strings ("4.90").
 */

import { errorText, fill, flash, h, money } from "./ui.js";
import { field, fullError, storePanel } from "./desk.js";

const RULES = [["flat", "Flat fee"], ["weight", "By weight bands"], ["courier", "Courier by distance"]];
const TAX_CLASSES = ["standard", "reduced", "zero"];

export function mount(root, ctx) {
  return storePanel(root, ctx, {
    roles: ["owner", "manager", "admin"],
    intro: "How the store ships: each method serves one zone, with a flat, weight-band or courier fee.",
    render: (body, store) => renderShipping(body, ctx, store),
  });
}

/** "500:4.90, 2000:6.90" → [{max_weight_g, price}] (throws on a malformed band). */
export function parseBands(text) {
  return text.split(",").map((s) => s.trim()).filter(Boolean).map((band) => {
    const m = /^(\d+)\s*:\s*(\d+(?:\.\d{1,2})?)$/.exec(band);
    if (!m) throw new Error(`weight band "${band}": write grams:price, e.g. 2000:6.90`);
    return { max_weight_g: Number(m[1]), price: m[2] };
  });
}

function describe(m) {
  const fee = m.rule === "weight"
    ? m.weight_bands.map((b) => `≤${b.max_weight_g} g ${money(b.price, m.currency)}`).join(", ")
    : m.rule === "courier"
      ? `${money(m.price, m.currency)} + ${money(m.price_per_km, m.currency)}/km${m.max_distance_m ? ` up to ${m.max_distance_m / 1000} km` : ""}`
      : money(m.price, m.currency);
  const free = m.free_above ? ` · free from ${money(m.free_above, m.currency)}` : "";
  const days = m.min_days != null || m.max_days != null ? ` · ${m.min_days ?? "?"}–${m.max_days ?? "?"} days` : "";
  return `${fee}${free}${days}`;
}

function renderShipping(body, { session }, { vendor }) {
  const base = `vendors/${vendor.id}/`;
  const status = h("p", { class: "status", hidden: true });
  const list = h("ul", { class: "shipping-methods" });
  let zones = [];
  let editing = null; // the method being edited, or null for a new one

  const f = {
    zone: h("select", { name: "zone_id", "aria-label": "Zone" }),
    name: h("input", { name: "name", required: true, maxlength: "100", placeholder: "Standard parcel" }),
    rule: h("select", { name: "rule" }, RULES.map(([v, label]) => h("option", { value: v }, label))),
    price: h("input", { name: "price", inputmode: "decimal", placeholder: "4.90", size: "7" }),
    currency: h("input", { name: "currency", value: "EUR", size: "4", maxlength: "3" }),
    freeAbove: h("input", { name: "free_above", inputmode: "decimal", placeholder: "none", size: "7" }),
    perKm: h("input", { name: "price_per_km", inputmode: "decimal", placeholder: "0.50", size: "6" }),
    maxDistance: h("input", { name: "max_distance_m", inputmode: "numeric", placeholder: "metres", size: "7" }),
    bands: h("input", { name: "weight_bands", placeholder: "1000:4.90, 5000:7.90, 31500:14.90" }),
    minDays: h("input", { name: "min_days", type: "number", min: "0", max: "365", size: "3" }),
    maxDays: h("input", { name: "max_days", type: "number", min: "0", max: "365", size: "3" }),
    tax: h("select", { name: "tax_class" }, TAX_CLASSES.map((t) => h("option", { value: t }, t))),
    active: h("input", { name: "is_active", type: "checkbox", checked: true }),
  };
  const title = h("strong", {}, "New method");
  const submit = h("button", { type: "submit", class: "save-method" }, "Add method");
  const cancel = h("button", { type: "button", class: "ghost", hidden: true }, "New instead");
  const byRule = {
    flat: [], weight: [field("Weight bands (grams:price)", f.bands)],
    courier: [field("Per km", f.perKm), field("Max distance (m)", f.maxDistance)],
  };
  const ruleFields = h("div", { class: "row" });
  const form = h("form", { class: "method-form" },
    h("div", { class: "row" }, title, cancel),
    h("div", { class: "row" }, field("Zone", f.zone), field("Name", f.name), field("Rule", f.rule)),
    h("div", { class: "row" }, field("Price", f.price), field("Currency", f.currency), field("Free from", f.freeAbove),
      field("Tax class", f.tax)),
    ruleFields,
    h("div", { class: "row" }, field("Days min", f.minDays), field("max", f.maxDays),
      h("label", {}, f.active, " active"), submit));
  const showRuleFields = () => fill(ruleFields, byRule[f.rule.value]);
  f.rule.addEventListener("change", showRuleFields);

  const zoneName = h("input", { placeholder: "Zone name", "aria-label": "Zone name", size: "12" });
  const zoneCountries = h("input", { placeholder: "DE, AT (or empty)", "aria-label": "Countries", size: "14" });
  const zoneRest = h("input", { type: "checkbox", "aria-label": "Rest of world" });
  const zoneForm = h("form", { class: "row zone-form" }, zoneName, zoneCountries, h("label", { class: "small" }, zoneRest, " rest of world"),
    h("button", { type: "submit", class: "ghost" }, "Add zone"));

  fill(body, status, list, form, h("p", { class: "muted small" }, "Zones:"), h("p", { class: "zones small" }), zoneForm);

  function fillForm(m) {
    editing = m;
    title.textContent = m ? `Edit “${m.name}”` : "New method";
    submit.textContent = m ? "Save method" : "Add method";
    cancel.hidden = !m;
    f.zone.value = m ? m.zone.id : (zones[0]?.id || "");
    f.name.value = m?.name || "";
    f.rule.value = m?.rule || "flat";
    f.price.value = m?.price || "";
    f.currency.value = m?.currency || "EUR";
    f.freeAbove.value = m?.free_above || "";
    f.perKm.value = m?.price_per_km || "";
    f.maxDistance.value = m?.max_distance_m ?? "";
    f.bands.value = m ? m.weight_bands.map((b) => `${b.max_weight_g}:${b.price}`).join(", ") : "";
    f.minDays.value = m?.min_days ?? "";
    f.maxDays.value = m?.max_days ?? "";
    f.tax.value = m?.tax_class || "standard";
    f.active.checked = m ? m.is_active : true;
    showRuleFields();
  }
  cancel.addEventListener("click", () => fillForm(null));

  function payload() {
    const rule = f.rule.value;
    const num = (input) => (input.value.trim() === "" ? null : Number(input.value));
    const data = {
      zone_id: f.zone.value, name: f.name.value.trim(), rule, currency: f.currency.value.trim().toUpperCase(),
      free_above: f.freeAbove.value.trim() || null, tax_class: f.tax.value, is_active: f.active.checked,
      min_days: num(f.minDays), max_days: num(f.maxDays),
    };
    if (rule !== "weight" || f.price.value.trim()) data.price = f.price.value.trim() || "0.00";
    if (rule === "courier") {
      data.price_per_km = f.perKm.value.trim() || null;
      data.max_distance_m = num(f.maxDistance);
    }
    if (rule === "weight") data.weight_bands = parseBands(f.bands.value);
    return data;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let data;
    try {
      data = payload();
    } catch (err) {
      return flash(status, err.message, "error", 0);
    }
    try {
      const saved = editing
        ? await session.api(`${base}shipping-methods/${editing.id}/`, { method: "PATCH", body: data })
        : await session.api(`${base}shipping-methods/`, { method: "POST", body: data });
      flash(status, `Saved “${saved.name}”.`, "ok");
      fillForm(null);
      await load();
    } catch (err) {
      flash(status, `method: ${fullError(err)}`, "error", 0);
    }
  });

  zoneForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const countries = zoneCountries.value.split(/[\s,]+/).map((c) => c.trim().toUpperCase()).filter(Boolean);
    try {
      await session.api(`${base}shipping-zones/`, { method: "POST", body: { name: zoneName.value.trim(), countries, rest_of_world: zoneRest.checked } });
      zoneName.value = zoneCountries.value = "";
      zoneRest.checked = false;
      await load();
    } catch (err) {
      flash(status, `zone: ${fullError(err)}`, "error", 0);
    }
  });

  async function load() {
    try {
      const [methods, zoneList] = await Promise.all([session.api(`${base}shipping-methods/`), session.api(`${base}shipping-zones/`)]);
      zones = zoneList;
      const keep = f.zone.value;
      fill(f.zone, zones.map((z) => h("option", { value: z.id }, z.name)));
      f.zone.value = keep || zones[0]?.id || "";
      fill(body.querySelector(".zones"), zones.length ? zones.map((z) => h("span", { class: "pill" },
        `${z.name}: ${z.rest_of_world ? "rest of world" : z.countries.join(", ")}${z.postcodes.length ? ` (${z.postcodes.join(", ")})` : ""}`)) : "none yet: add one below");
      fill(list, methods.length ? methods.map((m) => h("li", { class: m.is_active ? "" : "muted", dataset: { method: m.name, rule: m.rule } },
        h("span", { class: "name" }, h("strong", {}, m.name), ` · ${m.zone.name}`, m.is_active ? null : h("em", {}, " (inactive)")),
        h("span", { class: "small" }, describe(m)),
        h("button", { type: "button", class: "tiny ghost edit", onclick: () => fillForm(m) }, "edit"),
        h("button", { type: "button", class: "tiny ghost delete", title: "Delete (orders keep their snapshot)", onclick: async () => {
          try {
            await session.api(`${base}shipping-methods/${m.id}/`, { method: "DELETE" });
            if (editing?.id === m.id) fillForm(null);
            await load();
          } catch (err) {
            flash(status, `delete: ${errorText(err)}`, "error", 0);
          }
        } }, "×"))) : h("li", { class: "muted empty" }, "No shipping methods: buyers cannot check out this store's products."));
    } catch (err) {
      flash(status, `shipping: ${errorText(err)}`, "error", 0);
    }
  }

  fillForm(null);
  load();
  return {};
}
