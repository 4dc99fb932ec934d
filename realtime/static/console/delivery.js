/**
 * Delivery panel, built against the contract of issue 7 (the delivery app may not exist yet; the
 * panel then says "not available"). No tile server: the map is an SVG drawn from coordinates
 * (equirectangular projection around the points' mean latitude, with a scale bar).
 *
 *  - GET /api/v1/deliveries/ → a page {results: [...]} or a list {id, status, …} of the caller's
 *    deliveries (buyer, courier, vendor, staff); 404 → "not available".
 *  - `delivery:<id>` snapshot → {status, last_position {lat, lon, ts, heading_deg?, speed_mps?} | null,
 *    eta_seconds, distance_m?, path: [{lat, lon, ts?}], pickup {lat, lon}, dropoff {lat, lon},
 *    tracking_ended?}; a snapshot wrapped as {delivery: {...}} is accepted, and `lng` for `lon`.
 *  - events: delivery.location {lat, lon, heading_deg, speed_mps, ts, distance_m, eta_seconds}
 *    (appended to the path), delivery.status_changed {status, reason?}, delivery.courier_stale,
 *    delivery.courier_live; `subscription.revoked` (the buyer after delivery) → "tracking ended".
 */

import { clock, errorText, fill, h, unavailable } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 420;
const H = 260;
const PAD = 24;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, String(v));
  for (const c of children) if (c != null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** {lat, lon} from {lat, lon|lng|longitude, latitude} or null. */
export function point(p) {
  if (!p) return null;
  const lat = Number(p.lat ?? p.latitude);
  const lon = Number(p.lon ?? p.lng ?? p.longitude);
  return Number.isFinite(lat) && Number.isFinite(lon) ? { ...p, lat, lon } : null;
}

function metersBetween(a, b) {
  const R = 6371000;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const x = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(x));
}

export function mount(root, { session, rt }) {
  const picker = h("select", { "aria-label": "Delivery" });
  const idInput = h("input", { type: "text", placeholder: "delivery id", class: "id-input", "aria-label": "Delivery id" });
  const openButton = h("button", { type: "button", class: "ghost" }, "Open");
  const view = h("div", { class: "delivery-view" });
  fill(root, h("div", { class: "row" }, picker, idInput, openButton), view);
  openButton.addEventListener("click", () => idInput.value.trim() && open(idInput.value.trim()));
  picker.addEventListener("change", () => picker.value && open(picker.value));

  let current = null;

  async function loadList() {
    try {
      const page = await session.api("deliveries/?limit=20");
      const list = Array.isArray(page) ? page : page?.results || [];
      fill(picker, h("option", { value: "" }, list.length ? "Choose a delivery…" : "No deliveries"),
        list.map((d) => h("option", { value: d.id }, `${d.id.slice(0, 8)} — ${d.status || ""}`)));
      const active = list.find((d) => !["delivered", "failed", "cancelled"].includes(d.status)) || list[0];
      if (active && !current) open(active.id);
      else if (!list.length) fill(view, h("p", { class: "muted" }, "No delivery to watch; paste an id to open one."));
    } catch (err) {
      if (err.status === 404) notAvailable("GET /api/v1/deliveries/ answered 404");
      else fill(view, h("p", { class: "status", dataset: { kind: "error" } }, `deliveries: ${errorText(err)}`));
    }
  }

  function notAvailable(why) {
    close();
    root.dataset.available = "0";
    fill(root, unavailable("Delivery tracking", `The delivery API is not deployed on this server yet (${why}). This panel expects the delivery:<id> topic of issue 7.`));
  }

  function close() {
    if (!current) return;
    current.sub.unsubscribe();
    current = null;
  }

  function open(id) {
    close();
    const c = { id, state: null, path: [], stale: false, ended: false };
    current = c;
    fill(view, h("p", { class: "muted" }, "Loading…"));
    c.sub = rt.subscribe(`delivery:${id}`, {
      snapshot(snap) {
        if (current !== c) return;
        const d = snap?.delivery || snap || {};
        c.state = { ...d };
        c.path = (d.path || d.route || d.points || []).map(point).filter(Boolean);
        const last = point(d.last_position || d.position);
        if (last && !c.path.some((p) => p.lat === last.lat && p.lon === last.lon)) c.path.push(last);
        c.ended = Boolean(d.tracking_ended);
        render();
      },
      event(ev) {
        if (current !== c || !c.state) return;
        const d = ev.data || {};
        if (ev.type === "delivery.location") {
          const p = point(d);
          if (p) {
            c.path.push(p);
            if (c.path.length > 2000) c.path.splice(0, c.path.length - 2000);
            c.state.last_position = p;
          }
          for (const k of ["eta_seconds", "distance_m"]) if (d[k] !== undefined) c.state[k] = d[k];
          c.stale = false;
        } else if (ev.type === "delivery.status_changed") {
          c.state = { ...c.state, ...d };
        } else if (ev.type === "delivery.courier_stale") c.stale = true;
        else if (ev.type === "delivery.courier_live") c.stale = false;
        render();
      },
      revoked(reason) {
        if (current !== c) return;
        c.ended = true;
        c.endReason = reason;
        render();
      },
      error(err) {
        if (err.code === "unknown_topic") notAvailable("the gateway has no delivery: topic");
        else fill(view, h("p", { class: "status", dataset: { kind: "error" } }, errorText(err)));
      },
    });
  }

  function render() {
    const c = current;
    const d = c.state || {};
    const eta = d.eta_seconds;
    fill(view,
      h("div", { class: "row between" },
        h("span", { class: "pill", dataset: { state: c.ended ? "idle" : "open" } }, d.status || "?"),
        h("span", { class: "eta", dataset: { eta: eta ?? "" } }, eta == null ? "ETA —" : `ETA ${Math.max(0, Math.round(eta / 60))} min`),
        d.distance_m != null ? h("span", { class: "muted" }, `${(d.distance_m / 1000).toFixed(2)} km to go`) : null,
        c.stale ? h("span", { class: "pill", dataset: { state: "backoff" } }, "courier signal lost") : null),
      c.ended ? h("p", { class: "status", dataset: { kind: "info" } }, `Tracking ended${c.endReason ? ` (${c.endReason})` : ""}.`) : null,
      drawMap(d, c.path),
      d.last_position ? h("p", { class: "muted small" }, `Last fix ${clock(d.last_position.ts)} · ${c.path.length} points`) : null);
  }

  function drawMap(d, path) {
    const pickup = point(d.pickup);
    const dropoff = point(d.dropoff);
    const courier = path[path.length - 1];
    const all = [...path, pickup, dropoff].filter(Boolean);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "map", role: "img", "aria-label": "Courier map" });
    svg.append(s("rect", { x: 0, y: 0, width: W, height: H, class: "map-bg" }));
    if (!all.length) {
      svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "map-label" }, "no position yet"));
      return svg;
    }
    const meanLat = all.reduce((acc, p) => acc + p.lat, 0) / all.length;
    const kx = Math.cos((meanLat * Math.PI) / 180);
    let minX = Math.min(...all.map((p) => p.lon * kx));
    let maxX = Math.max(...all.map((p) => p.lon * kx));
    let minY = Math.min(...all.map((p) => p.lat));
    let maxY = Math.max(...all.map((p) => p.lat));
    const span = Math.max(maxX - minX, maxY - minY, 0.002); // at least ~200 m across
    const cx = (minX + maxX) / 2;
    const cy = (minY + maxY) / 2;
    const scale = Math.min((W - 2 * PAD) / span, (H - 2 * PAD) / span);
    const xy = (p) => [W / 2 + (p.lon * kx - cx) * scale, H / 2 - (p.lat - cy) * scale];
    // grid every ~1/4 of the span
    for (let i = 1; i < 8; i += 1) {
      svg.append(s("line", { x1: (i * W) / 8, y1: 0, x2: (i * W) / 8, y2: H, class: "grid" }));
      if (i < 5) svg.append(s("line", { x1: 0, y1: (i * H) / 5, x2: W, y2: (i * H) / 5, class: "grid" }));
    }
    if (path.length > 1) svg.append(s("polyline", { points: path.map((p) => xy(p).map((v) => v.toFixed(1)).join(",")).join(" "), class: "route" }));
    const marker = (p, cls, label) => {
      const [x, y] = xy(p);
      return s("g", { class: cls, transform: `translate(${x.toFixed(1)},${y.toFixed(1)})` },
        s("circle", { r: 7 }), s("text", { y: 4, "text-anchor": "middle" }, label));
    };
    if (pickup) svg.append(marker(pickup, "pin pickup", "P"));
    if (dropoff) svg.append(marker(dropoff, "pin dropoff", "D"));
    if (courier) {
      const [x, y] = xy(courier);
      const g = s("g", { class: "courier", transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`, "data-lat": courier.lat, "data-lon": courier.lon });
      if (courier.heading_deg != null) g.append(s("path", { d: "M0,-15 L5,-6 L-5,-6 Z", transform: `rotate(${Number(courier.heading_deg)})`, class: "heading" }));
      g.append(s("circle", { r: 6 }));
      svg.append(g);
    }
    // scale bar: metres per pixel from two points 100 px apart
    const west = { lat: cy, lon: (cx - 50 / scale) / kx };
    const east = { lat: cy, lon: (cx + 50 / scale) / kx };
    const m100 = metersBetween(west, east);
    svg.append(s("line", { x1: 12, y1: H - 12, x2: 112, y2: H - 12, class: "scale" }),
      s("text", { x: 12, y: H - 16, class: "map-label" }, m100 >= 1000 ? `${(m100 / 1000).toFixed(1)} km` : `${Math.round(m100)} m`));
    return svg;
  }

  loadList();
  return { destroy: close };
}
