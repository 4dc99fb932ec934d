/**
 * Private images in the console: return photos, review photos and ticket attachments are served
 * only with the bearer token (never a token in a URL), so an <img src> cannot load them. The
 * image is fetched with the session's token (refreshed once after a 401) and shown from a blob:
 * URL, which the site's Content-Security-Policy allows for images; the URL is revoked once drawn.
 * Images are kept (the last 100, by URL) because panels redraw on every event.
 */

import { h } from "./ui.js";

const CACHE_SIZE = 100;
const cache = new Map(); // url → Promise<Blob>, the newest last (panels re-render on every event)

function cachedBlob(session, url) {
  if (cache.has(url)) {
    const hit = cache.get(url);
    cache.delete(url);
    cache.set(url, hit);
    return hit;
  }
  const promise = fetchBlob(session, url);
  promise.catch(() => cache.delete(url));
  cache.set(url, promise);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value);
  return promise;
}

async function fetchBlob(session, url) {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${session.access}` } });
    if (response.status === 401 && attempt === 0) { await session.refresh(); continue; }
    if (!response.ok) throw new Error(`image: HTTP ${response.status}`);
    return response.blob();
  }
  throw new Error("image: not authorised");
}

/** An <img class="thumb"> of the private image at site-relative `url` (empty until it loaded). */
export function privateImage(session, url, alt = "") {
  const img = h("img", { class: "thumb", alt, dataset: { src: url } });
  cachedBlob(session, url).then((blob) => {
    const objectUrl = URL.createObjectURL(blob);
    img.addEventListener("load", () => { URL.revokeObjectURL(objectUrl); img.dataset.loaded = "1"; }, { once: true });
    img.src = objectUrl;
  }).catch((err) => { img.alt = `${alt} (${err.message})`; img.dataset.failed = "1"; });
  return img;
}

/** A row of thumbnails for `photos` ([{url}]) or null when there are none. */
export function photoRow(session, photos, alt = "photo") {
  if (!photos?.length) return null;
  return h("div", { class: "thumbs" }, photos.map((p, i) => privateImage(session, p.url, `${alt} ${i + 1}`)));
}
