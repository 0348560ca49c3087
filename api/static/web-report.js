/* Residents' report form (/public/report): tap the map to place the spot (or use the phone's
   position); the spot goes into the form's lon/lat fields, so a form the server sends back
   with errors shows the same spot again. Everything else is a plain HTML form. */
(function () {
  "use strict";
  const C = sm.cfg();
  const $ = function (id) { return document.getElementById(id); };
  const map = sm.baseMap("map", C.basemap);
  window.smReportMap = map;  // tests read the map's centre
  const villages = L.geoJSON(null, { interactive: false, style: { color: "#6b7b8c", weight: 1, fill: false } }).addTo(map);
  let marker = null;

  function place(lat, lon, pan) {
    if (!marker) {
      marker = L.circleMarker([lat, lon], { radius: 11, color: "#fff", weight: 3, fillColor: "#c0392b", fillOpacity: 0.95 }).addTo(map);
    } else {
      marker.setLatLng([lat, lon]);
    }
    $("lat").value = Number(lat).toFixed(7);
    $("lon").value = Number(lon).toFixed(7);
    $("point-state").textContent = "已選擇地點（" + Number(lat).toFixed(5) + ", " + Number(lon).toFixed(5) + "）";
    const err = $("location-error");
    if (err) err.hidden = true;
    if (pan) map.setView([lat, lon], Math.max(map.getZoom(), 17));
  }

  if (C.point && C.point[0] && C.point[1]) {
    map.setView([Number(C.point[0]), Number(C.point[1])], 17, { animate: false });
    place(Number(C.point[0]), Number(C.point[1]), false);
  } else if (C.center) {
    map.setView(C.center, 16, { animate: false });
  } else {
    map.setView([25.012, 121.465], 13, { animate: false });
  }

  map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, false); });

  const outlines = function () {
    sm.villagesIn(map, villages, function (l) { l.bringToBack(); }).catch(function () {});
  };
  map.on("moveend", outlines);
  outlines();

  const locate = $("locate");
  if (!navigator.geolocation) {
    locate.hidden = true;
  } else {
    locate.addEventListener("click", function () {
      $("point-state").textContent = "正在取得您的位置…";
      navigator.geolocation.getCurrentPosition(
        function (pos) { place(pos.coords.latitude, pos.coords.longitude, true); },
        function () { $("point-state").textContent = "無法取得您的位置，請直接在地圖上點選。"; },
        { enableHighAccuracy: true, timeout: 10000 }
      );
    });
  }

  // Sending twice by a double tap on a slow phone network would count twice against the limit.
  $("report-form").addEventListener("submit", function () { $("send").disabled = true; });
})();
