/* safemap web pages: shared helpers (no framework, no CDN).
   Calls to /api/... go with the session cookie, so writes carry the CSRF cookie's value in
   X-CSRF-Token (double-submit, api/deps.py). */
window.sm = (function () {
  "use strict";

  function cookie(name) {
    const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }

  function message(data, status) {
    if (data && data.error) {
      let text = data.error.message;
      if (data.error.fields && data.error.fields.length) {
        text += "（" + data.error.fields.map(function (f) { return f.field; }).join("、") + "）";
      }
      return text;
    }
    if (status === 0) return "無法連線到伺服器，請檢查網路後再試。";
    return "伺服器無法處理這個要求（" + status + "），請稍後再試。";
  }

  async function api(method, url, body, headers) {
    const h = Object.assign({ Accept: "application/json", "X-CSRF-Token": cookie("safemap_csrf") }, headers || {});
    let payload = body;
    if (body !== undefined && body !== null && !(body instanceof FormData)) {
      h["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(url, { method: method, headers: h, body: payload, credentials: "same-origin" });
    } catch (e) {
      const err = new Error(message(null, 0));
      err.status = 0;
      throw err;
    }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!r.ok) {
      const err = new Error(message(data, r.status));
      err.status = r.status;
      err.data = data;
      throw err;
    }
    return { data: data, etag: r.headers.get("ETag"), status: r.status };
  }

  function cfg() {
    const el = document.getElementById("cfg");
    return el ? JSON.parse(el.textContent) : {};
  }

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // A Leaflet map centred on New Taipei with the configured basemap (none when switched off:
  // village outlines drawn by the page stand in for it).
  function baseMap(id, basemap) {
    const map = L.map(id, { zoomControl: true });
    if (basemap && basemap.url) {
      L.tileLayer(basemap.url, { attribution: basemap.attribution, maxZoom: basemap.max_zoom || 19 }).addTo(map);
    }
    map.setView([25.012, 121.465], 13);
    return map;
  }

  function say(el, text, kind) {
    if (typeof el === "string") el = document.getElementById(el);
    if (!el) return;
    el.textContent = text || "";
    el.className = text ? (kind === "ok" ? "notice" : "error") : "";
    el.hidden = !text;
    if (text) el.setAttribute("role", kind === "ok" ? "status" : "alert");
  }

  // Field errors under inputs, keeping every value the person typed.
  function fieldError(input, text) {
    if (typeof input === "string") input = document.getElementById(input);
    if (!input) return;
    let p = input.parentNode.querySelector('.field-error[data-for="' + input.id + '"]');
    if (!p) {
      p = document.createElement("p");
      p.className = "field-error";
      p.dataset.for = input.id;
      input.insertAdjacentElement("afterend", p);
    }
    p.textContent = text || "";
    p.hidden = !text;
    if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  }

  function clearErrors(root) {
    (root || document).querySelectorAll(".field-error[data-for]").forEach(function (p) { p.hidden = true; p.textContent = ""; });
    (root || document).querySelectorAll("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
  }

  function money(n) { return "NT$" + Number(n || 0).toLocaleString("zh-TW"); }

  async function villagesIn(map, layer, onEach) {
    // Village outlines of the view (public boundaries API), once zoomed in far enough.
    if (map.getZoom() < 13) return;
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
    const r = await api("GET", "/api/villages?bbox=" + bbox);
    layer.clearLayers();
    layer.addData(r.data);
    if (onEach) layer.eachLayer(onEach);
  }

  return { api: api, cfg: cfg, esc: esc, baseMap: baseMap, say: say, fieldError: fieldError,
           clearErrors: clearErrors, money: money, cookie: cookie, villagesIn: villagesIn };
})();
