/**
 * What the store owner's panels share (store.js, photos.js, catalog_import.js, shipping.js,
 * payouts.js): the stores the signed-in user works for, with their role, and a panel frame
 * that picks one of them.
 *
 * The stores: `GET vendors/` lists the active stores plus the ones the user is staff of; the
 * store's own staff (and marketplace admins) get its private keys (`owner_id`), so those are the
 * user's stores; `GET vendors/{id}/staff/` gives the user's role there (`owner`, `manager`,
 * `staff`). A marketplace admin who is not on a store's staff sees it with role "admin" (the API
 * decides what an admin may do). Loaded once per sign-in and shared through `ctx.desk`.
 */

import { errorText, fill, h } from "./ui.js";

/** Every page of a paginated list endpoint (`{results, next}`), at most `max` items. */
export async function allPages(session, path, max = 500) {
  const items = [];
  let next = path;
  while (next && items.length < max) {
    const page = await session.api(next);
    if (Array.isArray(page)) return page;
    items.push(...(page.results || []));
    next = page.next || null;
  }
  return items;
}

/** → Promise<[{vendor, role}]>: the stores the signed-in user works for (module docstring). */
export function myStores(ctx) {
  if (!ctx.desk) {
    ctx.desk = (async () => {
      const admin = (ctx.me.roles || []).includes("admin");
      const vendors = (await allPages(ctx.session, "vendors/?limit=100")).filter((v) => "owner_id" in v);
      const stores = [];
      for (const vendor of vendors) {
        let role = null;
        try {
          const staff = await ctx.session.api(`vendors/${vendor.id}/staff/`);
          role = staff.find((m) => m.user_id === ctx.me.id)?.role || null;
        } catch {
          role = null; // not on its staff (an admin sees every store's private keys)
        }
        if (role || admin) stores.push({ vendor, role: role || "admin" });
      }
      return stores;
    })();
  }
  return ctx.desk;
}

/** Trigger a browser download of `{blob, filename}` (from `session.api(path, {as: "blob"})`). */
export function saveBlob({ blob, filename }, fallbackName = "download") {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename || fallbackName, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/**
 * A store panel: loads the user's stores, keeps those whose role is in `roles` (all roles when
 * omitted), shows a store picker when there are several, and calls `render(body, store)` with
 * `store = {vendor, role}` for the picked one; `render` returns `{destroy()}` (or nothing).
 * Without a store it says why. Returns the panel's `{destroy()}`.
 */
export function storePanel(root, ctx, { roles = null, intro = "", render }) {
  let current = null;
  let destroyed = false;
  const picker = h("select", { class: "store-picker", "aria-label": "Store", hidden: true });
  const body = h("div", { class: "store-body" }, h("p", { class: "muted" }, "loading your stores…"));
  fill(root, intro ? h("p", { class: "muted small" }, intro) : null, picker, body);

  const show = (store) => {
    try { current?.destroy?.(); } catch (err) { console.error(err); }
    current = null;
    body.replaceChildren();
    root.dataset.vendorId = store.vendor.id;
    current = render(body, store) || null;
  };

  myStores(ctx).then((all) => {
    if (destroyed) return;
    const stores = roles ? all.filter((s) => roles.includes(s.role)) : all;
    if (!stores.length) {
      fill(body, h("p", { class: "muted empty", dataset: { noStore: "1" } }, all.length
        ? `Your role in your stores (${[...new Set(all.map((s) => s.role))].join(", ")}) does not include this.`
        : "You do not work for a store: sign in as a store's owner (vendor1) to use this panel."));
      return;
    }
    fill(picker, stores.map((s, i) => h("option", { value: String(i) }, `${s.vendor.name} (${s.role})`)));
    picker.hidden = stores.length < 2;
    picker.onchange = () => show(stores[Number(picker.value)]);
    show(stores[0]);
  }).catch((err) => {
    if (!destroyed) fill(body, h("p", { class: "status", dataset: { kind: "error" } }, `stores: ${errorText(err)}`));
  });

  return {
    destroy() {
      destroyed = true;
      try { current?.destroy?.(); } catch (err) { console.error(err); }
    },
  };
}

/** A labelled form field: `field("Name", input)`. */
export function field(label, input, hint = "") {
  return h("label", { class: "field" }, h("span", {}, label), input, hint ? h("small", { class: "muted" }, hint) : null);
}

/** The `fields` of an ApiError as "name: message; …" (empty when none). */
export function fieldErrors(err) {
  const fields = err?.fields;
  if (!fields || typeof fields !== "object") return "";
  return Object.entries(fields).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : typeof v === "object" ? JSON.stringify(v) : v}`).join("; ");
}

/** errorText plus the field errors. */
export function fullError(err) {
  const extra = fieldErrors(err);
  return extra ? `${errorText(err)} (${extra})` : errorText(err);
}
