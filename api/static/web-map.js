/* Safety-map editor (/app/map): draw hazards as points, lines or areas, describe them, link
   them to a safety meeting, add photos, mark them fixed. Everything goes through /api/hazards,
   which checks the jurisdiction and the status moves. */
(function () {
  "use strict";
  const C = sm.cfg();
  if (!C.communities || !C.communities.length) return;
  const $ = function (id) { return document.getElementById(id); };
  const cats = {};
  C.categories.forEach(function (c) { cats[c.code] = c; });
  C.categories.forEach(function (c) { $("h-category").add(new Option(c.label, c.code)); });
  Object.keys(C.times).forEach(function (k) { $("h-time").add(new Option(C.times[k], k, k === "both", k === "both")); });
  Object.keys(C.statuses).forEach(function (k) { $("h-status").add(new Option(C.statuses[k], k)); });

  const map = sm.baseMap("map", C.basemap);
  const boundary = L.geoJSON(null, { pmIgnore: true, interactive: false, style: { color: "#0b5394", weight: 3, fill: false, dashArray: "6 4" } }).addTo(map);
  const colour = function (f) { return (cats[f.properties.category] || {}).color || "#b2182b"; };
  const hazards = L.geoJSON(null, {
    pmIgnore: false,
    style: function (f) {
      return { color: colour(f), weight: 5, fillOpacity: 0.25, dashArray: f.properties.status === "fixed" ? "4 6" : null };
    },
    pointToLayer: function (f, ll) {
      return L.circleMarker(ll, { radius: 9, color: "#fff", weight: 2, fillColor: colour(f), fillOpacity: f.properties.status === "fixed" ? 0.4 : 0.95 });
    },
    onEachFeature: function (f, layer) {
      layer.on("click", function () { select(f.id); });
      layer.bindTooltip(label(f));
    },
  }).addTo(map);
  const byId = {};
  let current = null;   // {id, etag, layer} of the hazard being edited, or {layer} of a new drawing
  let editingShape = false;

  function label(f) {
    const p = f.properties;
    return (p.title || (cats[p.category] || {}).label || p.category) + "（" + (C.statuses[p.status] || p.status) + "）";
  }

  function communityId() { return Number($("community").value); }

  async function loadCommunity(fit) {
    const id = communityId();
    const [b, h, m] = await Promise.all([
      sm.api("GET", "/api/communities/" + id),
      sm.api("GET", "/api/hazards?limit=1000&community_id=" + id),
      sm.api("GET", "/api/safety_meetings?limit=1000&community_id=" + id).catch(function () { return { data: { features: [] } }; }),
    ]);
    boundary.clearLayers();
    boundary.addData(b.data);
    hazards.clearLayers();
    Object.keys(byId).forEach(function (k) { delete byId[k]; });
    hazards.addData(h.data);
    hazards.eachLayer(function (l) { byId[l.feature.id] = l; });
    const sel = $("h-meeting");
    sel.length = 1;
    m.data.features.forEach(function (f) {
      sel.add(new Option(f.properties.held_on + " " + (f.properties.place || ""), f.id));
    });
    renderList(h.data.features);
    if (fit && boundary.getBounds().isValid()) map.fitBounds(boundary.getBounds(), { padding: [20, 20] });
  }

  function renderList(features) {
    $("count").textContent = "（" + features.length + " 筆）";
    const ul = $("hazard-list");
    ul.innerHTML = "";
    features.forEach(function (f) {
      const li = document.createElement("li");
      li.dataset.id = f.id;
      li.dataset.status = f.properties.status;
      li.innerHTML = '<button type="button" class="link-dark"><span class="dot" style="background:' + sm.esc(colour(f)) + '"></span>' +
        sm.esc(label(f)) + ' <small class="muted">' + sm.esc(f.geometry ? { Point: "點", LineString: "線", Polygon: "面", MultiPolygon: "面", MultiLineString: "線" }[f.geometry.type] || "" : "") +
        "・嚴重度 " + sm.esc(f.properties.severity) + "</small></button>";
      li.querySelector("button").addEventListener("click", function () { select(f.id, true); });
      ul.appendChild(li);
    });
  }

  function showForm(title, editing) {
    sm.clearErrors($("hazard-form"));
    $("form-title").textContent = title;
    $("hazard-form").hidden = !C.can_edit && !editing;
    $("edit-only").hidden = !editing;
    ["h-fixed", "h-shape", "h-delete"].forEach(function (b) { $(b).hidden = !editing || !C.can_edit; });
    $("h-save").hidden = !C.can_edit;
    $("hazard-form").scrollIntoView({ block: "nearest" });
  }

  function fill(p) {
    $("h-category").value = p.category || "";
    $("h-severity").value = String(p.severity || 3);
    $("h-time").value = p.time_of_day || "both";
    $("h-title").value = p.title || "";
    $("h-description").value = p.description || "";
    $("h-meeting").value = p.meeting_id ? String(p.meeting_id) : "";
    $("h-status").value = p.status || "open";
    $("h-agency").value = p.agency || "";
    $("h-reason").value = p.dismissed_reason || "";
    $("h-photos").value = "";
  }

  async function select(id, zoom) {
    cancelDrawing();
    const layer = byId[id];
    if (!layer) return;
    const r = await sm.api("GET", "/api/hazards/" + id);
    current = { id: id, etag: r.etag, layer: layer, feature: r.data };
    fill(r.data.properties);
    showForm("問題點 #" + id, true);
    if (zoom) {
      if (layer.getBounds) map.fitBounds(layer.getBounds(), { maxZoom: 18 });
      else map.setView(layer.getLatLng(), Math.max(map.getZoom(), 17));
    }
    const photos = await sm.api("GET", "/api/hazards/" + id + "/photos").catch(function () { return { data: [] }; });
    const list = Array.isArray(photos.data) ? photos.data : (photos.data && photos.data.items) || [];
    $("photos").innerHTML = list.map(function (p) {
      return '<a href="' + sm.esc(p.href) + '" target="_blank"><img src="' + sm.esc(p.href) + '" alt="' + sm.esc(p.caption || "問題點照片") + '"></a>';
    }).join("");
  }

  function cancelDrawing() {
    if (current && !current.id && current.layer) map.removeLayer(current.layer);
    if (current && current.id && editingShape && current.layer.pm) current.layer.pm.disable();
    editingShape = false;
    current = null;
    $("hazard-form").hidden = true;
  }

  function properties() {
    const p = {
      category: $("h-category").value,
      severity: Number($("h-severity").value),
      time_of_day: $("h-time").value,
      title: $("h-title").value.trim() || null,
      description: $("h-description").value.trim(),
      meeting_id: $("h-meeting").value ? Number($("h-meeting").value) : null,
    };
    if (current && current.id) {
      p.status = $("h-status").value;
      p.agency = $("h-agency").value.trim() || null;
      p.dismissed_reason = $("h-reason").value.trim() || null;
    }
    return p;
  }

  function validate(p) {
    sm.clearErrors($("hazard-form"));
    let ok = true;
    if (!p.category) { sm.fieldError("h-category", "請選擇問題類別。"); ok = false; }
    if (!(p.severity >= 1 && p.severity <= 5)) { sm.fieldError("h-severity", "嚴重程度須為 1 到 5。"); ok = false; }
    if (p.title && p.title.length > 128) { sm.fieldError("h-title", "標題最多 128 字。"); ok = false; }
    if (p.status === "assigned" && !p.agency) { sm.fieldError("h-agency", "分派時請填寫權責機關。"); ok = false; }
    if (p.status === "dismissed" && !p.dismissed_reason) { sm.fieldError("h-reason", "不處理時請說明理由。"); ok = false; }
    const files = $("h-photos").files;
    for (let i = 0; i < files.length; i++) {
      if (files[i].size > 10 * 1024 * 1024) { sm.fieldError("h-photos", "每張照片須在 10 MB 以內：" + files[i].name); ok = false; }
    }
    return ok;
  }

  async function uploadPhotos(id) {
    const files = $("h-photos").files;
    for (let i = 0; i < files.length; i++) {
      const fd = new FormData();
      fd.append("file", files[i]);
      await sm.api("POST", "/api/hazards/" + id + "/photos", fd);
    }
  }

  async function save(extra) {
    const p = Object.assign(properties(), extra || {});
    if (!validate(p)) { sm.say("msg", "請修正標示的欄位。"); return; }
    const btn = $("h-save");
    btn.disabled = true;
    try {
      let id;
      if (current && current.id) {
        const body = { type: "Feature", properties: p };
        if (editingShape) body.geometry = current.layer.toGeoJSON().geometry;
        const r = await sm.api("PATCH", "/api/hazards/" + current.id, body, { "If-Match": current.etag });
        id = r.data.id;
      } else {
        p.community_id = communityId();
        const geometry = current.layer.toGeoJSON().geometry;
        const r = await sm.api("POST", "/api/hazards", { type: "Feature", geometry: geometry, properties: p });
        id = r.data.id;
        map.removeLayer(current.layer);
      }
      await uploadPhotos(id);
      editingShape = false;
      current = null;
      await loadCommunity(false);
      sm.say("msg", "已儲存問題點 #" + id + "。", "ok");
      await select(id);
    } catch (e) {
      if (e.status === 412) sm.say("msg", "這個問題點已被其他人修改，請重新選取後再編輯。");
      else sm.say("msg", e.message);
    } finally {
      btn.disabled = false;
    }
  }

  $("hazard-form").addEventListener("submit", function (ev) { ev.preventDefault(); save(); });
  $("h-cancel").addEventListener("click", function () { cancelDrawing(); sm.say("msg", ""); loadCommunity(false); });
  $("h-fixed").addEventListener("click", function () { $("h-status").value = "fixed"; save({ status: "fixed" }); });
  $("h-shape").addEventListener("click", function () {
    if (!current || !current.layer.pm) return;
    editingShape = true;
    if (current.layer.setStyle) current.layer.setStyle({ color: "#ff7800" });
    current.layer.pm.enable({ allowSelfIntersection: false, draggable: true });
    sm.say("msg", "拖曳頂點或點位修改形狀，完成後按「儲存」。", "ok");
  });
  $("h-delete").addEventListener("click", async function () {
    if (!current || !current.id || !window.confirm("確定刪除問題點 #" + current.id + "？")) return;
    try {
      await sm.api("DELETE", "/api/hazards/" + current.id, null, { "If-Match": current.etag });
      current = null;
      $("hazard-form").hidden = true;
      await loadCommunity(false);
      sm.say("msg", "已刪除。", "ok");
    } catch (e) { sm.say("msg", e.message); }
  });
  $("community").addEventListener("change", function () { cancelDrawing(); loadCommunity(true); });

  if (C.can_edit && map.pm) {
    map.pm.setLang("zh_tw");
    map.pm.addControls({
      position: "topleft", drawMarker: true, drawPolyline: true, drawPolygon: true, drawCircle: false,
      drawCircleMarker: false, drawRectangle: false, drawText: false, editMode: false, dragMode: false,
      cutPolygon: false, removalMode: false, rotateMode: false,
    });
    map.on("pm:create", function (e) {
      cancelDrawing();
      current = { layer: e.layer };
      fill({});
      showForm("新增問題點", false);
      sm.say("msg", "已畫好位置，請填寫類別與嚴重程度後儲存。", "ok");
    });
  }
  // A deep link (/app/map?community=ID, e.g. from a review page) opens that community.
  const wanted = new URLSearchParams(window.location.search).get("community");
  if (wanted && C.communities.some(function (c) { return String(c.id) === wanted; })) $("community").value = wanted;
  loadCommunity(true).catch(function (e) { sm.say("msg", e.message); });
})();
