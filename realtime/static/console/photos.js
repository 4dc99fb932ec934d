/**
 * Product photos panel (the store's owners and managers): pick one of the store's products,
 * upload several images at once (each checked by content, re-encoded without metadata and
 * thumbnailed by the server), mark one primary, move them up and down, delete.
 *
 * REST: `GET products/?vendor={id}`, `GET/POST products/{id}/images/` (multipart `file`),
 * `PUT products/{id}/images/order/` `{ids}`, `PATCH/DELETE products/{id}/images/{image_id}/`.
 * The server answers every change with the images in their new order; the panel renders that.
 */

import { errorText, fill, flash, h } from "./ui.js";
import { fullError, storePanel } from "./desk.js";

export function mount(root, ctx) {
  return storePanel(root, ctx, {
    roles: ["owner", "manager"], // the API lets only the store's owners and managers change photos
    intro: "Photos of a product: several per product, one primary, in display order.",
    render: (body, store) => renderMedia(body, ctx, store),
  });
}

function renderMedia(body, { session }, { vendor }) {
  const status = h("p", { class: "status", hidden: true });
  const select = h("select", { class: "media-product", "aria-label": "Product" }, h("option", { value: "" }, "loading products…"));
  const files = h("input", { type: "file", multiple: true, accept: "image/jpeg,image/png,image/gif,image/webp", "aria-label": "Images" });
  const uploadButton = h("button", { type: "button", class: "upload-images" }, "Upload");
  const gallery = h("ul", { class: "gallery" });
  fill(body, h("div", { class: "row" }, select, files, uploadButton), gallery, status);
  let images = [];

  const productId = () => select.value;
  const path = (suffix = "") => `products/${productId()}/images/${suffix}`;

  async function load() {
    if (!productId()) return fill(gallery);
    try {
      images = await session.api(path());
      render();
    } catch (err) {
      flash(status, `images: ${errorText(err)}`, "error", 0);
    }
  }

  const run = (label, fn) => async () => {
    try {
      const result = await fn();
      if (Array.isArray(result)) { images = result; render(); } else await load();
    } catch (err) {
      flash(status, `${label}: ${fullError(err)}`, "error", 0);
    }
  };

  const move = (index, delta) => {
    const ids = images.map((i) => i.id);
    const [id] = ids.splice(index, 1);
    ids.splice(index + delta, 0, id);
    return session.api(path("order/"), { method: "PUT", body: { ids } });
  };

  function render() {
    fill(gallery, images.length ? images.map((img, i) => h("li", {
      class: img.is_primary ? "primary" : "", dataset: { imageId: String(img.id), primary: img.is_primary ? "1" : "0" },
    },
    h("img", { src: img.thumbnails?.small || img.url, alt: img.alt_text || "", loading: "lazy" }),
    h("span", { class: "muted small" }, img.width ? `${img.width}×${img.height}` : img.source),
    h("span", { class: "row tight" },
      img.is_primary ? h("strong", { class: "small" }, "primary")
        : h("button", { type: "button", class: "tiny make-primary", onclick: run("primary", () => session.api(path(`${img.id}/`), { method: "PATCH", body: { is_primary: true } })) }, "★"),
      h("button", { type: "button", class: "tiny ghost up", title: "Earlier", disabled: i === 0, onclick: run("order", () => move(i, -1)) }, "←"),
      h("button", { type: "button", class: "tiny ghost down", title: "Later", disabled: i === images.length - 1, onclick: run("order", () => move(i, 1)) }, "→"),
      h("button", { type: "button", class: "tiny ghost delete", title: "Delete", onclick: run("delete", () => session.api(path(`${img.id}/`), { method: "DELETE" })) }, "×")),
    )) : h("li", { class: "muted empty" }, "No photos yet."));
  }

  uploadButton.addEventListener("click", async () => {
    if (!productId() || !files.files.length) return flash(status, "Choose a product and one or more images.", "error");
    uploadButton.disabled = true;
    let done = 0;
    try {
      for (const file of files.files) { // one request per image, in the order chosen
        const data = new FormData();
        data.append("file", file);
        data.append("alt_text", file.name.replace(/\.[^.]+$/, ""));
        try {
          await session.api(path(), { method: "POST", body: data });
          done += 1;
        } catch (err) {
          flash(status, `${file.name}: ${fullError(err)}`, "error", 0);
        }
      }
      files.value = "";
      await load();
      if (done) flash(status, `${done} image${done === 1 ? "" : "s"} uploaded.`, "ok");
    } finally {
      uploadButton.disabled = false;
    }
  });
  select.addEventListener("change", load);

  session.api(`products/?vendor=${vendor.id}&ordering=name&limit=100`).then((page) => {
    const products = page.results || [];
    fill(select, products.length ? products.map((p) => h("option", { value: p.id }, `${p.name} (${p.sku})`))
      : h("option", { value: "" }, "the store has no products"));
    load();
  }).catch((err) => flash(status, `products: ${errorText(err)}`, "error", 0));
  return {};
}
