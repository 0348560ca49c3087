/* Blind-spot list (/app/blindspots): the latest run's blind spots on a map (the list and the
   filters are rendered by the server), and a button that runs a new analysis through
   /api/analysis/blind-spots, which checks the role and the jurisdiction. */
(function () {
  "use strict";
  const C = sm.cfg();
  const $ = function (id) { return document.getElementById(id); };
  // More missing covers, darker: a place no camera, block or patrol covers comes first.
  const SHADE = { 3: "#b3261e", 2: "#e66101", 1: "#fdb863" };

  const runButton = $("run-analysis");
  if (runButton) {
    runButton.addEventListener("click", async function () {
      runButton.disabled = true;
      $("pending").hidden = false;
      sm.say("msg", "");
      try {
        await sm.api("POST", "/api/analysis/blind-spots", {});
        window.location.reload();
      } catch (e) {
        sm.say("msg", e.message);
        runButton.disabled = false;
        $("pending").hidden = true;
      }
    });
  }

  ["reason", "source"].forEach(function (id) {
    const sel = $(id);
    if (sel) sel.addEventListener("change", function () { sel.form.submit(); });
  });

  if (!$("map")) return;
  const map = sm.baseMap("map", C.basemap);
  const byId = {};
  const layer = L.geoJSON(C.features, {
    style: function (f) {
      const c = SHADE[f.properties.reasons.length] || SHADE[1];
      return { color: c, weight: 2, fillColor: c, fillOpacity: 0.45 };
    },
    pointToLayer: function (f, ll) {
      const c = SHADE[f.properties.reasons.length] || SHADE[1];
      return L.circleMarker(ll, { radius: 8, color: "#fff", weight: 2, fillColor: c, fillOpacity: 0.95 });
    },
    onEachFeature: function (f, l) {
      const p = f.properties;
      byId[f.id] = l;
      l.bindTooltip("#" + p.rank + " " + sm.esc(C.sources[p.source_kind] || p.source_kind) + "：" +
        p.reasons.map(function (r) { return sm.esc(C.reasons[r] || r); }).join("、"));
    },
  }).addTo(map);
  if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 17 });

  document.querySelectorAll("#spots tbody tr[data-id]").forEach(function (tr) {
    tr.addEventListener("click", function () {
      const l = byId[tr.dataset.id];
      if (!l) return;
      if (l.getBounds) map.fitBounds(l.getBounds(), { maxZoom: 18 });
      else map.setView(l.getLatLng(), 18);
      l.openTooltip();
      $("map").scrollIntoView({ behavior: "smooth", block: "center" });
    });
  });
})();
