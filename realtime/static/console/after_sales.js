/**
 * What the after-sales panels (returns, reviews, tickets) share at mount: one request each per
 * signed-in session instead of one per panel.
 *
 *  - staffStores(session, me) → Promise<[vendor]>: the stores the user is staff of (every page
 *    of GET /api/v1/vendors/: those whose private `owner_id` the caller sees; empty for marketplace
 *    admins, who see every store's private fields without being its staff);
 *  - deliveredOrders(session) → Promise<[order]>: the user's delivered orders, newest first
 *    (GET /api/v1/orders/?status=delivered).
 */

import { allPages } from "./desk.js";

const memo = new WeakMap(); // session → Map(key → Promise)

function once(session, key, load) {
  if (!memo.has(session)) memo.set(session, new Map());
  const cache = memo.get(session);
  if (!cache.has(key)) {
    const promise = load();
    promise.catch(() => cache.delete(key)); // a failure is retried by the next caller
    cache.set(key, promise);
  }
  return cache.get(key);
}

export function staffStores(session, me) {
  if ((me.roles || []).includes("admin")) return Promise.resolve([]);
  return once(session, "stores", async () => (await allPages(session, "vendors/?limit=100")).filter((v) => v.owner_id));
}

export function deliveredOrders(session) {
  return once(session, "delivered", async () => (await session.api("orders/?status=delivered&limit=20")).results || []);
}
