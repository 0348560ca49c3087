/* One application: its boundary and villages on a map, and the review moves the caller may
   make (the API decides which; the buttons are the ones it listed). */
(function () {
  "use strict";
  const C = sm.cfg();
  const A = C.application;
  const map = sm.baseMap("map", C.basemap);
  const layers = L.featureGroup().addTo(map);
  const f = A.form || {};
  async function draw() {
    if (f.boundary) L.geoJSON(f.boundary, { style: { color: "#d7301f", weight: 3, fillOpacity: 0.15 } }).addTo(layers);
    if ((f.village_codes || []).length) {
      const c = await sm.api("GET", "/api/communities/" + A.community.id).catch(function () { return null; });
      if (c) L.geoJSON(c.data, { style: { color: "#0b5394", weight: 2, fillOpacity: 0.08 } }).addTo(layers);
    }
    if (layers.getLayers().length) map.fitBounds(layers.getBounds(), { padding: [20, 20] });
  }
  draw().catch(function () {});
  const form = document.getElementById("move");
  if (!form) return;
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const btn = ev.submitter;
    const to = btn.value;
    const comment = document.getElementById("comment").value.trim();
    if ((to === "returned" || to === "rejected" || to === "not_selected") && !comment) {
      sm.fieldError("comment", "退回、不予受理或未獲核定時請填寫意見，讓申請單位知道原因。");
      sm.say("msg", "請填寫意見。");
      return;
    }
    sm.clearErrors(form);
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    try {
      const r = await sm.api("POST", "/api/applications/" + A.id + "/transitions", { to: to, comment: comment || null });
      document.getElementById("status").textContent = r.data.status_label;
      sm.say("msg", "已完成：" + btn.textContent + "。", "ok");
      form.hidden = true;
    } catch (e) {
      sm.say("msg", e.message);
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    }
  });
})();
