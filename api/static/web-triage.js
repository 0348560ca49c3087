/* Triage of residents' reports (/app/triage): the reports and their suggested duplicates on
   a map, and the three moves (accept as a hazard, merge into a hazard, dismiss with a
   reason) through /api/resident-reports/{id}/triage, which checks jurisdiction and state. */
(function () {
  "use strict";
  const C = sm.cfg();
  const map = sm.baseMap("map", C.basemap);
  // Village outlines give the spots a place when the basemap is off or unreachable.
  const villages = L.geoJSON(null, { interactive: false, style: { color: "#6b7b8c", weight: 1, fill: false } }).addTo(map);
  const markers = {};
  const group = L.featureGroup().addTo(map);
  const colour = function (code) { return (C.colors || {})[code] || "#b2182b"; };

  C.reports.forEach(function (r) {
    const isNew = r.status === "new";
    const m = L.circleMarker([r.lat, r.lon], {
      radius: isNew ? 10 : 6, color: "#fff", weight: 2, fillColor: colour(r.category), fillOpacity: isNew ? 0.95 : 0.45,
    }).addTo(group);
    m.bindTooltip("回報 " + r.reference + "・" + r.category_label + "（" + r.status_label + "）");
    m.on("click", function () { focus(r.id); });
    markers[r.id] = m;
    if (isNew) {
      r.duplicates.filter(function (d) { return d.kind === "hazard"; }).forEach(function (d) {
        L.circleMarker([d.lat, d.lon], { radius: 7, color: "#333", weight: 2, dashArray: "3 3", fillOpacity: 0 })
          .bindTooltip("問題點 #" + d.id + " " + sm.esc(d.title || "") + "（" + d.distance_m + " 公尺）").addTo(group);
      });
    }
  });
  const outlines = function () {
    sm.villagesIn(map, villages, function (l) { l.bringToBack(); }).catch(function () {});
  };
  map.on("moveend", outlines);
  if (C.reports.length) {
    map.fitBounds(group.getBounds(), { maxZoom: 18, padding: [30, 30], animate: false });
  }
  outlines();

  function focus(id) {
    const m = markers[id];
    if (m) { map.setView(m.getLatLng(), 18); m.openTooltip(); }
    const li = document.querySelector('#waiting li[data-id="' + id + '"]');
    if (li) li.scrollIntoView({ block: "nearest" });
  }

  document.querySelectorAll("#waiting .show").forEach(function (b) {
    b.addEventListener("click", function () { focus(Number(b.dataset.id)); });
  });

  document.querySelectorAll("#waiting [data-action]").forEach(function (button) {
    button.addEventListener("click", async function () {
      const li = button.closest("li.report");
      const id = Number(li.dataset.id);
      const msg = li.querySelector("[data-msg]");
      const action = button.dataset.action;
      const body = { action: action };
      if (action === "accept") {
        body.severity = Number(li.querySelector(".severity").value);
        body.title = li.querySelector(".title").value;
        const comm = li.querySelector(".community");
        if (comm) {
          if (!comm.value) { sm.say(msg, "請選擇要列入哪個社區的地圖。"); return; }
          body.community_id = Number(comm.value);
        }
      } else if (action === "merge") {
        body.hazard_id = Number(button.dataset.hazard);
      } else {
        const reason = li.querySelector(".reason");
        if (!reason.value.trim()) {
          sm.fieldError(reason, "不予處理時請說明理由。");
          return;
        }
        body.reason = reason.value;
      }
      li.querySelectorAll("button[data-action]").forEach(function (b) { b.disabled = true; });
      try {
        const r = await sm.api("POST", "/api/resident-reports/" + id + "/triage", body);
        const done = r.data;
        li.dataset.status = done.status;
        li.querySelector(".act").hidden = true;
        li.querySelectorAll("button[data-action]").forEach(function (b) { b.remove(); });  // [hidden] loses to app.css
        sm.say(msg, "已處理：" + done.status_label + (done.hazard_id ? "（問題點 #" + done.hazard_id + "）" : ""), "ok");
        if (markers[id]) markers[id].setStyle({ radius: 6, fillOpacity: 0.45 });
      } catch (e) {
        li.querySelectorAll("button[data-action]").forEach(function (b) { b.disabled = false; });
        sm.say(msg, e.message);
      }
    });
  });
})();
