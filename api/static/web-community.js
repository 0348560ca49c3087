/* The community organisation's pages (/app/audits, /app/cameras, /app/blocks, /app/routes,
   /app/reports, /app/claims, /app/export). The server renders the lists; these scripts draw
   on the map and write through the JSON API, which checks everything again. A failed save
   keeps every value typed and shows the API's zh-TW message next to the field it names; a
   successful one reloads the page so the list shows what the database stored. */
(function () {
  "use strict";
  const C = sm.cfg();
  const $ = function (id) { return document.getElementById(id); };

  function communityId() {
    const el = $("community");
    return el ? Number(el.value) : (C.community ? C.community.id : null);
  }

  function go(params, hash) {
    const u = new URL(window.location.href);
    u.search = "";
    Object.keys(params).forEach(function (k) { if (params[k] !== null && params[k] !== undefined) u.searchParams.set(k, params[k]); });
    u.hash = hash || "";
    // The same address with only a new #hash would not reload: reload it explicitly.
    if (u.pathname + u.search === window.location.pathname + window.location.search) {
      window.history.replaceState(null, "", u.toString());
      window.location.reload();
    } else {
      window.location.href = u.toString();
    }
  }

  // The API names a field in its zh-TW message ("「照明」的分數須為…"): show the message next
  // to that field, and always in the form's message line.
  function apiError(e, msgId, fields) {
    sm.say(msgId, e.message);
    const hit = (fields || []).find(function (f) { return e.message.indexOf(f[0]) >= 0; });
    if (hit) sm.fieldError(hit[1], e.message);
  }

  function toInt(v) { return v === "" || v === null ? null : Number(v); }
  function isInt(v) { return Number.isInteger(v); }

  // A map with the chosen community's boundary, its drawing tools in zh-TW.
  async function communityMap(tools) {
    const map = sm.baseMap("map", C.basemap);
    map.options.zoomSnap = 0.25;  // a small community fills the map, not a quarter of it
    const boundary = L.geoJSON(null, { pmIgnore: true, interactive: false, style: { color: "#0b5394", weight: 3, fill: false, dashArray: "6 4" } }).addTo(map);
    if (map.pm) {
      map.pm.setLang("zh_tw");
      map.pm.addControls(Object.assign({
        position: "topleft", drawMarker: false, drawPolyline: false, drawPolygon: false, drawCircle: false,
        drawCircleMarker: false, drawRectangle: false, drawText: false, editMode: false, dragMode: false,
        cutPolygon: false, removalMode: false, rotateMode: false,
      }, tools));
    }
    try {
      const r = await sm.api("GET", "/api/communities/" + communityId());
      boundary.addData(r.data);
      if (boundary.getBounds().isValid()) map.fitBounds(boundary.getBounds(), { padding: [20, 20] });
    } catch (e) { sm.say("msg", e.message); }
    return map;
  }

  function fitTo(map, layer) {
    if (layer && layer.getBounds && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 18 });
  }

  // ------------------------------------------------------------------ walk audits
  async function audits() {
    const form = $("audit-form");
    if (!form) return;
    const map = await communityMap({ drawPolyline: true, drawPolygon: true });
    L.geoJSON(C.features, {
      pmIgnore: true,
      style: function (f) { return { color: f.properties.period === "night" ? "#3f3d99" : "#e08a00", weight: 6, fillOpacity: 0.2 }; },
      onEachFeature: function (f, l) { l.bindTooltip(f.properties.place_name + "（" + f.properties.score + " 分）"); },
    }).addTo(map);
    let drawn = null;
    function setDrawn(layer, text) {
      if (drawn && drawn !== layer) map.removeLayer(drawn);
      drawn = layer;
      $("geom-state").textContent = text;
      sm.fieldError("map", "");
    }
    if (C.reaudit && C.reaudit.geometry) {
      const base = L.geoJSON(C.reaudit.geometry, { pmIgnore: true, style: { color: "#ff7800", weight: 6 } }).addTo(map);
      setDrawn(base, "沿用原稽核的路段");
      fitTo(map, base);
    }
    map.on("pm:create", function (e) { setDrawn(e.layer, e.shape === "Polygon" ? "已畫出範圍" : "已畫出路段"); });

    const params = C.parameters;
    const fields = [["地點名稱", "a-place"], ["稽核日期", "a-date"], ["時段", "a-period"], ["圖形", "map"]]
      .concat(params.map(function (p) { return ["「" + C.labels[p] + "」", "s-" + p]; }));

    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      sm.clearErrors(document);
      sm.say("a-msg", "");
      const props = {
        community_id: communityId(),
        place_name: $("a-place").value.trim(),
        period: $("a-period").value,
        audited_on: $("a-date").value,
        auditors: $("a-auditors").value.trim() || null,
        notes: $("a-notes").value.trim(),
      };
      if ($("a-follow").value) props.follow_up_of = Number($("a-follow").value);
      let ok = true;
      if (!props.place_name) { sm.fieldError("a-place", "請填寫地點名稱。"); ok = false; }
      if (!props.audited_on) { sm.fieldError("a-date", "請選擇稽核日期。"); ok = false; }
      params.forEach(function (p) {
        const v = toInt($("s-" + p).value);
        if (v === null || !(v >= 0 && v <= 3)) { sm.fieldError("s-" + p, "請為「" + C.labels[p] + "」評分（0–3）。"); ok = false; }
        props[p] = v;
      });
      if (!drawn) { sm.fieldError("map", "請先在地圖上畫出稽核的路段（線）或範圍（面）。"); ok = false; }
      if (!ok) { sm.say("a-msg", "請修正標示的欄位，已填寫的內容都保留著。"); return; }
      const geometry = drawn.toGeoJSON().type === "FeatureCollection" ? drawn.toGeoJSON().features[0].geometry : drawn.toGeoJSON().geometry;
      $("a-save").disabled = true;
      try {
        const r = await sm.api("POST", "/api/safety_audits", { type: "Feature", geometry: geometry, properties: props });
        go({ community: communityId(), saved: r.data.id, compare: r.data.id }, "saved");
      } catch (e) {
        apiError(e, "a-msg", fields);
      } finally { $("a-save").disabled = false; }
    });
  }

  // ------------------------------------------------------------------ cameras
  // The preview wedge is drawn here, in the browser, as the values change; a moment later the
  // server's view replaces it: the same sector and building clipping as a stored camera
  // (safemap_camera_sector, safemap_camera_view), so what the form shows is what gets saved.
  function wedge(ll, bearing, fov, range) {
    const R = 6378137;
    const cosLat = Math.cos(ll.lat * Math.PI / 180);
    function dest(deg) {
      const t = deg * Math.PI / 180;
      return L.latLng(ll.lat + (range * Math.cos(t) / R) * 180 / Math.PI,
                      ll.lng + (range * Math.sin(t) / (R * cosLat)) * 180 / Math.PI);
    }
    const pts = [];
    if (fov >= 360) { for (let a = 0; a < 360; a += 10) pts.push(dest(a)); return pts; }
    pts.push(ll);
    const steps = Math.max(4, Math.ceil(fov / 5));
    for (let i = 0; i <= steps; i++) pts.push(dest(bearing - fov / 2 + fov * i / steps));
    return pts;
  }

  async function cameras() {
    const form = $("camera-form");
    if (!form) return;
    const map = await communityMap({ drawMarker: true });
    const colours = { proposed: "#e08a00", approved: "#2b8a3e", installed: "#0b5394", existing: "#0b5394", rejected: "#888" };
    (C.features ? C.features.features : []).forEach(function (f) {
      const colour = colours[f.properties.status] || "#555";
      // What the camera sees: its sector less what buildings hide (the sector without footprints).
      const seen = f.properties.view || f.properties.sector;
      if (seen) L.geoJSON(seen, { pmIgnore: true, interactive: false, className: "camera-view", style: { color: colour, weight: 1, fillOpacity: 0.15 } }).addTo(map);
      if (f.geometry) {
        L.circleMarker([f.geometry.coordinates[1], f.geometry.coordinates[0]], { pmIgnore: true, radius: 6, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 1 })
          .bindTooltip((f.properties.name || "監視器 #" + f.id) + "（" + (C.statuses[f.properties.status] || f.properties.status) + "）").addTo(map);
      }
    });
    let point = null;
    let marker = null;
    const preview = L.polygon([], { className: "sector-preview", color: "#d9480f", weight: 2, fillOpacity: 0.3, pmIgnore: true, interactive: false });

    function values() {
      return {
        bearing: Number($("c-bearing").value), fov: Number($("c-fov").value),
        range: Number($("c-range").value), height: $("c-height").value === "" ? null : Number($("c-height").value),
      };
    }
    let asked = 0;
    let timer = null;
    async function clipped(ll, v, serial) {
      try {
        const q = new URLSearchParams({ lon: ll.lng, lat: ll.lat, bearing: v.bearing, fov: v.fov, range_m: v.range });
        const r = await sm.api("GET", "/api/analysis/camera-view?" + q.toString());
        if (serial !== asked || !r.data.geometry) return; // a newer value was typed meanwhile
        const g = r.data.geometry;
        preview.setLatLngs(L.GeoJSON.coordsToLatLngs(g.coordinates, g.type === "MultiPolygon" ? 2 : 1));
        const p = r.data.properties;
        const hidden = p.sector_m2 > 0 ? Math.round(100 * (1 - p.view_m2 / p.sector_m2)) : 0;
        $("c-view").textContent = p.hidden_by_buildings
          ? "可視面積約 " + Math.round(p.view_m2) + " 平方公尺（建物遮住約 " + hidden + "%）"
          : "可視面積約 " + Math.round(p.view_m2) + " 平方公尺（範圍內沒有建物遮蔽）";
        $("c-view").dataset.state = p.hidden_by_buildings ? "clipped" : "open";
      } catch (e) {
        // the browser's wedge stays: the form still works without the server's view
        if (serial === asked) $("c-view").textContent = "";
      }
    }
    function redraw() {
      if (!point) return;
      const v = values();
      if (!(v.fov > 0 && v.fov <= 360 && v.range > 0 && v.range <= 500 && isFinite(v.bearing))) return;
      preview.setLatLngs(wedge(point, ((v.bearing % 360) + 360) % 360, v.fov, v.range));
      if (!map.hasLayer(preview)) preview.addTo(map);
      const serial = ++asked;
      const ll = point;
      clearTimeout(timer);
      timer = setTimeout(function () { clipped(ll, v, serial); }, 250);
    }
    function place(ll, layer) {
      if (marker && marker !== layer) map.removeLayer(marker);
      marker = layer || L.marker(ll, { pmIgnore: true }).addTo(map);
      point = ll;
      $("c-where").textContent = ll.lat.toFixed(5) + ", " + ll.lng.toFixed(5);
      sm.fieldError("map", "");
      redraw();
    }
    map.on("pm:create", function (e) { place(e.layer.getLatLng(), e.layer); });
    map.on("click", function (e) { if (!map.pm || !map.pm.globalDrawModeEnabled()) place(e.latlng); });
    ["c-bearing", "c-fov", "c-range"].forEach(function (id) { $(id).addEventListener("input", redraw); });
    $("c-bearing").addEventListener("input", function () { $("c-bearing-range").value = $("c-bearing").value; });
    $("c-bearing-range").addEventListener("input", function () { $("c-bearing").value = $("c-bearing-range").value; redraw(); });

    const fields = [["方向角", "c-bearing"], ["視角", "c-fov"], ["拍攝距離", "c-range"], ["架設高度", "c-height"], ["圖形", "map"]];
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      sm.clearErrors(document);
      sm.say("c-msg", "");
      const v = values();
      let ok = true;
      if (!point) { sm.fieldError("map", "請先在地圖上點選建議設置的位置。"); ok = false; }
      if ($("c-bearing").value === "" || !(v.bearing >= 0 && v.bearing <= 360)) { sm.fieldError("c-bearing", "方向角須在 0 到 360 度之間。"); ok = false; }
      if ($("c-fov").value === "" || !(v.fov >= 1 && v.fov <= 360)) { sm.fieldError("c-fov", "視角須在 1 到 360 度之間。"); ok = false; }
      if ($("c-range").value === "" || !(v.range >= 1 && v.range <= 500)) { sm.fieldError("c-range", "拍攝距離須在 1 到 500 公尺之間。"); ok = false; }
      if (v.height !== null && !(v.height >= 0 && v.height <= 50)) { sm.fieldError("c-height", "架設高度須在 0 到 50 公尺之間。"); ok = false; }
      if (!ok) { sm.say("c-msg", "請修正標示的欄位，已填寫的內容都保留著。"); return; }
      $("c-save").disabled = true;
      try {
        const r = await sm.api("POST", "/api/cameras", {
          type: "Feature",
          geometry: { type: "Point", coordinates: [point.lng, point.lat] },
          properties: {
            community_id: communityId(), status: "proposed", name: $("c-name").value.trim() || null,
            bearing_deg: v.bearing, fov_deg: v.fov, range_m: v.range, height_m: v.height,
            note: $("c-note").value.trim() || null,
          },
        });
        go({ community: communityId(), saved: r.data.id }, "saved");
      } catch (e) {
        apiError(e, "c-msg", fields);
      } finally { $("c-save").disabled = false; }
    });
  }

  // ------------------------------------------------------------------ patrol routes
  async function routes() {
    const form = $("route-form");
    if (!form) return;
    const map = await communityMap({ drawPolyline: true });
    L.geoJSON(C.features, {
      pmIgnore: true, style: { color: "#2b8a3e", weight: 5 },
      onEachFeature: function (f, l) { l.bindTooltip(f.properties.team_name + " " + (f.properties.name || "")); },
    }).addTo(map);
    let line = null;
    map.on("pm:create", function (e) {
      if (line) map.removeLayer(line);
      line = e.layer;
      $("r-state").textContent = "已畫出（" + line.getLatLngs().length + " 點）";
      sm.fieldError("map", "");
    });
    const fields = [["巡守隊", "r-team"], ["巡守時間", "r-days"], ["圖形", "map"]];
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      sm.clearErrors(document);
      sm.say("r-msg", "");
      const days = Array.prototype.map.call(form.querySelectorAll("input[name=day]:checked"), function (c) { return Number(c.value); });
      const p = { community_id: communityId(), team_name: $("r-team").value.trim(), name: $("r-name").value.trim() || null,
                  schedule: { days: days, start: $("r-start").value, end: $("r-end").value } };
      let ok = true;
      if (!p.team_name) { sm.fieldError("r-team", "請填寫巡守隊名稱。"); ok = false; }
      if (!days.length) { sm.fieldError("r-days", "請至少勾選一個巡守日。"); ok = false; }
      if (!p.schedule.start) { sm.fieldError("r-start", "請填寫開始時間。"); ok = false; }
      if (!p.schedule.end) { sm.fieldError("r-end", "請填寫結束時間。"); ok = false; }
      if (!line) { sm.fieldError("map", "請先在地圖上畫出巡守路線。"); ok = false; }
      if (!ok) { sm.say("r-msg", "請修正標示的欄位，已填寫的內容都保留著。"); return; }
      $("r-save").disabled = true;
      try {
        const r = await sm.api("POST", "/api/patrol_routes", { type: "Feature", geometry: line.toGeoJSON().geometry, properties: p });
        go({ community: communityId(), saved: r.data.id }, "saved");
      } catch (e) {
        apiError(e, "r-msg", fields);
      } finally { $("r-save").disabled = false; }
    });
  }

  // ------------------------------------------------------------------ blocks and adopters
  async function blocks() {
    const form = $("block-form");
    if (!form) return;
    const map = await communityMap({ drawPolygon: true, drawMarker: true });
    const blockById = {};
    L.geoJSON(C.blocks, {
      pmIgnore: true,
      style: function (f) { return { color: f.properties.adopters && f.properties.adopters.length ? "#2b8a3e" : "#e08a00", weight: 2, fillOpacity: 0.2 }; },
      onEachFeature: function (f, l) {
        blockById[f.id] = f;
        l.bindTooltip(f.properties.name);
        l.on("click", function () { if (!map.pm || !map.pm.globalDrawModeEnabled()) editBlock(f.id); });
      },
    }).addTo(map);
    const adopterById = {};
    L.geoJSON(C.adopters, {
      pmIgnore: true,
      pointToLayer: function (f, ll) { return L.circleMarker(ll, { radius: 7, color: "#fff", weight: 2, fillColor: "#6741d9", fillOpacity: 1 }); },
      onEachFeature: function (f, l) { adopterById[f.id] = f; l.bindTooltip(f.properties.name); },
    }).addTo(map);
    (C.adopters ? C.adopters.features : []).forEach(function (f) { adopterById[f.id] = f; });

    let shape = null;      // a newly drawn block polygon
    let spot = null;       // a newly placed adopter location
    let editing = null;    // the block being renamed
    let editingAdopter = null;
    map.on("pm:create", function (e) {
      if (e.shape === "Marker") {
        if (spot) map.removeLayer(spot);
        spot = e.layer;
        const ll = spot.getLatLng();
        $("ad-where").textContent = ll.lat.toFixed(5) + ", " + ll.lng.toFixed(5);
        $("adopter-form").scrollIntoView({ block: "nearest" });
      } else {
        if (shape) map.removeLayer(shape);
        shape = e.layer;
        newBlock();
        $("b-state").textContent = "已畫出";
        sm.fieldError("map", "");
      }
    });

    function newBlock() {
      editing = null;
      $("b-title").textContent = "新增治安區塊";
      $("b-new").hidden = true;
      $("b-state").textContent = shape ? "已畫出" : "尚未畫出";
    }
    function editBlock(id) {
      const f = blockById[id];
      if (!f) return;
      editing = f;
      $("b-title").textContent = "修改區塊：" + f.properties.name;
      $("b-name").value = f.properties.name;
      $("b-state").textContent = "沿用原範圍";
      $("b-new").hidden = false;
      form.scrollIntoView({ block: "nearest" });
    }
    $("b-new").addEventListener("click", function () { $("b-name").value = ""; newBlock(); });
    document.querySelectorAll(".edit-block").forEach(function (b) { b.addEventListener("click", function () { editBlock(Number(b.dataset.id)); }); });

    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      sm.clearErrors(form); sm.fieldError("map", "");
      sm.say("b-msg", "");
      const name = $("b-name").value.trim();
      let ok = true;
      if (!name) { sm.fieldError("b-name", "請填寫區塊名稱。"); ok = false; }
      if (!editing && !shape) { sm.fieldError("map", "請先在地圖上畫出區塊範圍。"); ok = false; }
      if (!ok) { sm.say("b-msg", "請修正標示的欄位，已填寫的內容都保留著。"); return; }
      try {
        if (editing) {
          await sm.api("PATCH", "/api/patrol_blocks/" + editing.id, { type: "Feature", properties: { name: name } },
                       { "If-Match": '"' + editing.properties.version + '"' });
        } else {
          await sm.api("POST", "/api/patrol_blocks", { type: "Feature", geometry: shape.toGeoJSON().geometry,
                                                       properties: { community_id: communityId(), name: name, source: "hand" } });
        }
        go({ community: communityId(), saved: "block" }, "saved");
      } catch (e) {
        if (e.status === 412) sm.say("b-msg", "這個區塊已被其他人修改，請重新整理頁面後再編輯。");
        else apiError(e, "b-msg", [["區塊名稱", "b-name"], ["圖形", "map"]]);
      }
    });

    // Adopters
    const aform = $("adopter-form");
    function newAdopter() {
      editingAdopter = null;
      $("ad-title").textContent = "新增認養單位";
      $("ad-new").hidden = true;
    }
    function editAdopter(id) {
      const f = adopterById[id];
      if (!f) return;
      const p = f.properties;
      editingAdopter = f;
      $("ad-title").textContent = "修改認養單位：" + p.name;
      $("ad-name").value = p.name || "";
      $("ad-kind").value = p.kind || "company";
      $("ad-guards").value = p.guards === null || p.guards === undefined ? "" : p.guards;
      $("ad-hours").value = p.hours || "";
      $("ad-start").value = p.term_start || "";
      $("ad-end").value = p.term_end || "";
      $("ad-contact").value = p.contact_name || "";
      $("ad-phone").value = p.phone || "";
      $("ad-where").textContent = f.geometry ? "已標示" : "未標示";
      $("ad-new").hidden = false;
      aform.scrollIntoView({ block: "nearest" });
    }
    $("ad-new").addEventListener("click", function () { aform.reset(); newAdopter(); });
    document.querySelectorAll(".edit-adopter").forEach(function (b) { b.addEventListener("click", function () { editAdopter(Number(b.dataset.id)); }); });

    aform.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      sm.clearErrors(aform);
      sm.say("ad-msg", "");
      const p = {
        name: $("ad-name").value.trim(), kind: $("ad-kind").value, guards: toInt($("ad-guards").value),
        hours: $("ad-hours").value.trim() || null, term_start: $("ad-start").value || null, term_end: $("ad-end").value || null,
        contact_name: $("ad-contact").value.trim() || null, phone: $("ad-phone").value.trim() || null,
      };
      let ok = true;
      if (!p.name) { sm.fieldError("ad-name", "請填寫認養單位名稱。"); ok = false; }
      if (p.guards === null || !isInt(p.guards) || p.guards < 0) { sm.fieldError("ad-guards", "警衛人數須為 0 以上的整數。"); ok = false; }
      if (p.term_start && p.term_end && p.term_end < p.term_start) { sm.fieldError("ad-end", "認養迄日不能早於起日。"); ok = false; }
      if (p.phone && !/^[0-9()+#\-\s]+$/.test(p.phone)) { sm.fieldError("ad-phone", "電話只能包含數字、-、()、+、#。"); ok = false; }
      if (!ok) { sm.say("ad-msg", "請修正標示的欄位，已填寫的內容都保留著。"); return; }
      const body = { type: "Feature", properties: p };
      if (spot) { const ll = spot.getLatLng(); body.geometry = { type: "Point", coordinates: [ll.lng, ll.lat] }; }
      try {
        if (editingAdopter) {
          await sm.api("PATCH", "/api/adopters/" + editingAdopter.id, body, { "If-Match": '"' + editingAdopter.properties.version + '"' });
        } else {
          p.community_id = communityId();
          if (!body.geometry) body.geometry = null;
          await sm.api("POST", "/api/adopters", body);
        }
        go({ community: communityId(), saved: "adopter" }, "saved");
      } catch (e) {
        if (e.status === 412) sm.say("ad-msg", "這個認養單位已被其他人修改，請重新整理頁面後再編輯。");
        else apiError(e, "ad-msg", [["名稱", "ad-name"], ["類別", "ad-kind"], ["guards", "ad-guards"]]);
      }
    });

    // Adoptions
    document.querySelectorAll("button.adopt").forEach(function (b) {
      b.addEventListener("click", async function () {
        const pick = document.querySelector('.adopt-pick[data-block="' + b.dataset.block + '"]');
        if (!pick.value) { sm.fieldError(pick.id || (pick.id = "adopt-" + b.dataset.block), "請先選擇認養單位。"); return; }
        try {
          await sm.api("POST", "/api/patrol_blocks/" + b.dataset.block + "/adoptions", { adopter_id: Number(pick.value) });
          go({ community: communityId(), saved: "adoption" }, "saved");
        } catch (e) { sm.say("msg", e.message); }
      });
    });
    document.querySelectorAll("button.release").forEach(function (b) {
      b.addEventListener("click", async function () {
        if (!window.confirm("確定取消這個單位的認養？")) return;
        try {
          await sm.api("DELETE", "/api/patrol_blocks/" + b.dataset.block + "/adoptions/" + b.dataset.adopter);
          go({ community: communityId(), saved: "adoption" }, "saved");
        } catch (e) { sm.say("msg", e.message); }
      });
    });
  }

  // ------------------------------------------------------------------ monthly reports
  async function upload(applicationId, purpose, file) {
    const fd = new FormData();
    fd.append("purpose", purpose);
    fd.append("file", file);
    const r = await sm.api("POST", "/api/applications/" + applicationId + "/files", fd);
    return r.data.id;
  }

  function reports() {
    document.querySelectorAll("form.report-form").forEach(function (form) {
      const app = Number(form.dataset.application);
      const msg = "msg-" + app;
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        sm.clearErrors(form);
        sm.say(msg, "");
        const items = [];
        let ok = true;
        form.querySelectorAll(".rp-item").forEach(function (row) {
          const progress = row.querySelector(".rp-progress");
          const percentEl = row.querySelector(".rp-percent");
          const percent = toInt(percentEl.value);
          if (percent !== null && (!isInt(percent) || percent < 0 || percent > 100)) { sm.fieldError(percentEl, "完成百分比須為 0 到 100 的整數。"); ok = false; }
          if (!progress.value) {
            if (percent !== null || row.querySelector(".rp-text").value.trim()) { sm.fieldError(progress, "填了百分比或辦理情形時，請選擇進度。"); ok = false; }
            return;
          }
          items.push({ item: row.dataset.item, progress: progress.value, percent: percent, done_text: row.querySelector(".rp-text").value.trim() });
        });
        const first = form.querySelector(".rp-progress");
        if (ok && !items.length) { sm.fieldError(first, "請至少填寫一個工作項目的進度。"); ok = false; }
        const files = form.querySelector(".rp-files").files;
        for (let i = 0; i < files.length; i++) {
          if (files[i].size > 10 * 1024 * 1024) { sm.fieldError(form.querySelector(".rp-files"), "每個檔案須在 10 MB 以內：" + files[i].name); ok = false; }
        }
        if (!ok) { sm.say(msg, "請修正標示的欄位，已填寫的內容都保留著。"); return; }
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        try {
          const evidence = [];
          for (let i = 0; i < files.length; i++) evidence.push(await upload(app, "evidence", files[i]));
          const month = form.querySelector(".rp-month");
          const r = await sm.api("POST", "/api/applications/" + app + "/reports", {
            month: month.value, summary: form.querySelector(".rp-summary").value.trim(), items: items, evidence: evidence,
          });
          const params = new URLSearchParams(window.location.search);
          go({ year: params.get("year"), saved: r.data.month_label }, "saved");
        } catch (e) {
          apiError(e, msg, [["月", form.querySelector(".rp-month").id], ["工作項目", first.id], ["附件", form.querySelector(".rp-files").id]]);
        } finally { button.disabled = false; }
      });
    });
  }

  // ------------------------------------------------------------------ expense claims
  function claims() {
    const tpl = $("claim-row");
    document.querySelectorAll("form.claim-form").forEach(function (form) {
      const app = Number(form.dataset.application);
      const msg = "cl-msg-" + app;
      const rows = form.querySelector(".cl-rows");
      let n = 0;
      function addRow() {
        const node = tpl.content.firstElementChild.cloneNode(true);
        n += 1;
        node.querySelector("legend").textContent = "支出 " + (rows.children.length + 1);
        node.querySelectorAll("input, select").forEach(function (el) { el.id = "cl-" + app + "-" + n + "-" + el.className.replace(/^cl-/, ""); });
        node.querySelector(".cl-remove").addEventListener("click", function () { if (rows.children.length > 1) node.remove(); });
        rows.appendChild(node);
      }
      addRow();
      form.querySelector(".cl-add").addEventListener("click", addRow);
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        sm.clearErrors(form);
        sm.say(msg, "");
        const title = form.querySelector(".cl-title");
        let ok = true;
        if (!title.value.trim()) { sm.fieldError(title, "請填寫核銷案名稱。"); ok = false; }
        const items = [];
        rows.querySelectorAll(".cl-row").forEach(function (row) {
          const desc = row.querySelector(".cl-desc");
          const amount = row.querySelector(".cl-amount");
          const file = row.querySelector(".cl-file");
          const value = toInt(amount.value);
          if (!desc.value.trim()) { sm.fieldError(desc, "請填寫項目說明。"); ok = false; }
          if (value === null || !isInt(value) || value <= 0) { sm.fieldError(amount, "金額須為大於 0 的整數（元）。"); ok = false; }
          if (file.files[0] && file.files[0].size > 10 * 1024 * 1024) { sm.fieldError(file, "憑證檔案須在 10 MB 以內。"); ok = false; }
          items.push({ row: row, body: {
            description: desc.value.trim(), amount: value, item: row.querySelector(".cl-item").value || null,
            vendor: row.querySelector(".cl-vendor").value.trim() || null,
            receipt_no: row.querySelector(".cl-receipt-no").value.trim() || null,
            spent_on: row.querySelector(".cl-date").value || null,
          } });
        });
        if (!ok) { sm.say(msg, "請修正標示的欄位，已填寫的內容都保留著。"); return; }
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        try {
          for (const it of items) {
            const file = it.row.querySelector(".cl-file").files[0];
            if (file) it.body.receipt_file_id = await upload(app, "receipt", file);
          }
          const r = await sm.api("POST", "/api/applications/" + app + "/claims", { title: title.value.trim(), items: items.map(function (i) { return i.body; }) });
          const params = new URLSearchParams(window.location.search);
          go({ year: params.get("year"), saved: r.data.id }, "saved");
        } catch (e) {
          apiError(e, msg, [["名稱", title.id]]);
        } finally { button.disabled = false; }
      });
    });
    document.querySelectorAll("button.submit-claim").forEach(function (b) {
      b.addEventListener("click", async function () {
        b.disabled = true;
        try {
          await sm.api("POST", "/api/claims/" + b.dataset.id + "/transitions", { to: "submitted" });
          const params = new URLSearchParams(window.location.search);
          go({ year: params.get("year"), saved: b.dataset.id }, "saved");
        } catch (e) { sm.say("msg", e.message); window.scrollTo(0, 0); } finally { b.disabled = false; }
      });
    });
  }

  // ------------------------------------------------------------------ export, import
  function transfer() {
    const form = $("import-form");
    if (!form) return;
    const tpl = $("map-row");
    function addRow() { $("i-rows").appendChild(tpl.content.firstElementChild.cloneNode(true)); }
    addRow();
    $("i-add").addEventListener("click", addRow);
    function kindChanged() { $("i-mapping").hidden = $("i-kind").value !== "hazards"; }
    $("i-kind").addEventListener("change", kindChanged);
    kindChanged();
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      sm.clearErrors(form);
      sm.say("i-msg", "");
      $("i-problems").hidden = true;
      const file = $("i-file").files[0];
      let ok = true;
      if (!file) { sm.fieldError("i-file", "請選擇要匯入的檔案。"); ok = false; }
      const mapping = {};
      if ($("i-kind").value === "hazards") {
        $("i-rows").querySelectorAll(".i-row").forEach(function (row, k) {
          const source = row.querySelector(".i-source").value.trim();
          const target = row.querySelector(".i-target");
          if (!source && !target.value) return;
          if (!target.id) target.id = "i-target-" + k;
          if (!source) { sm.fieldError(target, "請填寫檔案中的類別名稱。"); ok = false; return; }
          if (!target.value) { sm.fieldError(target, "請選擇「" + source + "」對應的類別。"); ok = false; return; }
          mapping[source] = target.value;
        });
      }
      if (!ok) { sm.say("i-msg", "請修正標示的欄位，已填寫的內容都保留著。"); return; }
      const fd = new FormData();
      fd.append("file", file);
      fd.append("community_id", $("i-community").value);
      if (Object.keys(mapping).length) fd.append("mapping", JSON.stringify(mapping));
      if ($("i-kind").value === "hazards" && $("i-default").value) fd.append("default_category", $("i-default").value);
      fd.append("dry_run", $("i-dry").checked ? "true" : "false");
      $("i-send").disabled = true;
      try {
        const r = await sm.api("POST", "/api/import/" + $("i-kind").value, fd);
        const d = r.data;
        sm.say("i-msg", d.dry_run ? "檢查通過：可匯入 " + d.would_import + " 筆，尚未儲存。" : "已匯入 " + d.imported + " 筆。", "ok");
      } catch (e) {
        sm.say("i-msg", e.message);
        const problems = e.data && e.data.error && e.data.error.problems;
        if (problems && problems.length) {
          const body = $("i-problems").querySelector("tbody");
          body.innerHTML = problems.map(function (p) {
            return "<tr><td>" + sm.esc(p.where || ("第 " + p.row + " 筆")) + "</td><td>" + sm.esc(p.field || "") + "</td><td>" + sm.esc(p.reason) + "</td></tr>";
          }).join("");
          $("i-problems").hidden = false;
        } else if (e.status === 400 || e.status === 413) {
          sm.fieldError("i-file", e.message);
        }
      } finally { $("i-send").disabled = false; }
    });
  }

  const run = [audits, cameras, routes, blocks, reports, claims, transfer];
  run.forEach(function (f) {
    Promise.resolve().then(f).catch(function (e) { sm.say("msg", e.message); if (window.console) console.error(e); });
  });
})();
