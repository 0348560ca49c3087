/* CCTV planning (/app/planning): run the optimiser through /api/analysis/placement, show the
   suggested sites with their view sectors and marginal gains, and accept (a proposed camera)
   or turn down (a camera marked 不予設置, which the optimiser then leaves out) each site
   through /api/cameras. The APIs check the jurisdiction and every value again. */
(function () {
  "use strict";
  const C = sm.cfg();
  const $ = function (id) { return document.getElementById(id); };
  const STATUS = { existing: "既有", installed: "已裝設", approved: "已核准", proposed: "建議設置", rejected: "不予設置" };
  const COLOUR = { existing: "#1b9e77", installed: "#1b9e77", approved: "#1b9e77", proposed: "#7570b3", rejected: "#999999" };
  const FOV = 90;
  const BEARINGS = [0, 45, 90, 135, 180, 225, 270, 315];

  const map = sm.baseMap("map", C.basemap);
  const outline = L.geoJSON(C.outline || null, { interactive: false, style: { color: "#0b5394", weight: 2, fill: false, dashArray: "6 4" } }).addTo(map);
  if (outline.getBounds().isValid()) map.fitBounds(outline.getBounds(), { padding: [10, 10] });
  const cameras = L.layerGroup().addTo(map);
  const suggested = L.layerGroup().addTo(map);
  const byRank = {};
  let current = null; // the last plan: {run, sites, radius, fov, sectors}

  // ------------------------------------------------------------------ geometry
  function sector(lat, lon, bearing, fov, range) {
    // Metres to degrees near the site: ample for a 10–500 m sector.
    const mLat = 111320, mLon = 111320 * Math.cos(lat * Math.PI / 180);
    if (bearing === null || bearing === undefined || fov >= 360) return null;
    const pts = [[lat, lon]];
    const steps = 12;
    for (let i = 0; i <= steps; i++) {
      const a = (bearing - fov / 2 + fov * i / steps) * Math.PI / 180;
      pts.push([lat + range * Math.cos(a) / mLat, lon + range * Math.sin(a) / mLon]);
    }
    return pts;
  }

  // ------------------------------------------------------------------ cameras in view
  async function loadCameras() {
    if (map.getZoom() < 14) { cameras.clearLayers(); return; }
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
    let r;
    try {
      r = await sm.api("GET", "/api/cameras?limit=1000&with_extras=true&bbox=" + bbox);
    } catch (e) { return; } // the map still works without them
    cameras.clearLayers();
    r.data.features.forEach(function (f) {
      const p = f.properties, colour = COLOUR[p.status] || "#1b9e77";
      // What the camera sees: its sector less what buildings hide (the sector without footprints).
      const seen = p.view || p.sector;
      if (seen) {
        L.geoJSON(seen, { interactive: false, style: { color: colour, weight: 1, fillOpacity: 0.12 } }).addTo(cameras);
      }
      const c = f.geometry.coordinates;
      L.circleMarker([c[1], c[0]], { radius: 4, color: "#fff", weight: 1, fillColor: colour, fillOpacity: 1 })
        .bindTooltip((p.name || "監視器") + "（" + (STATUS[p.status] || p.status) + "）")
        .addTo(cameras);
    });
  }
  map.on("moveend", loadCameras);
  loadCameras();

  // ------------------------------------------------------------------ the form
  document.querySelectorAll('input[name="mode"]').forEach(function (r) {
    r.addEventListener("change", function () {
      const budget = $("mode-budget").checked;
      $("budget-fields").hidden = !budget;
      $("k-fields").hidden = budget;
      budgetHint();
    });
  });
  ["budget", "unit-cost"].forEach(function (id) { $(id).addEventListener("input", budgetHint); });

  function whole(id) {
    const v = $(id).value.trim().replace(/,/g, "");
    return /^\d+$/.test(v) ? Number(v) : null;
  }

  function budgetHint() {
    const b = whole("budget"), u = whole("unit-cost");
    $("budget-k").textContent = b && u ? "預算可設置 " + Math.floor(b / u) + " 支。" : "";
  }

  function readForm() {
    sm.clearErrors($("plan-form"));
    let ok = true;
    const fail = function (id, text) { sm.fieldError(id, text); ok = false; };
    let k;
    if ($("mode-budget").checked) {
      const b = whole("budget"), u = whole("unit-cost");
      if (!b) fail("budget", "請填寫預算金額（元，正整數）。");
      if (!u) fail("unit-cost", "請填寫每支設置單價（元，正整數）。");
      if (b && u) {
        k = Math.floor(b / u);
        if (k < 1) fail("budget", "預算不足以設置 1 支監視器，請提高預算或降低單價。");
        k = Math.min(k, 500);
      }
    } else {
      k = whole("k");
      if (k === null || k < 1 || k > 500) fail("k", "監視器數量 K 請填 1 到 500 的整數。");
    }
    const radius = whole("radius");
    if (radius === null || radius < 10 || radius > 500) fail("radius", "涵蓋半徑請填 10 到 500 公尺的整數。");
    const limit = whole("time-limit");
    if (limit === null || limit < 1 || limit > 300) fail("time-limit", "計算時間上限請填 1 到 300 秒的整數。");
    if (!ok) return null;
    const body = { k: k, radius_m: radius, time_limit_s: limit, method: $("quick").checked ? "greedy" : "milp" };
    const area = $("area").value;
    if (area.indexOf("district:") === 0) body.district = area.slice(9);
    if (area.indexOf("community:") === 0) body.community_id = Number(area.slice(10));
    if ($("sectors").checked) { body.bearings = BEARINGS; body.fov_deg = FOV; }
    return body;
  }

  let ticking = null;
  function pending(on, limit) {
    $("pending").hidden = !on;
    $("run").disabled = on;
    if (ticking) { clearInterval(ticking); ticking = null; }
    if (!on) return;
    const started = Date.now();
    const tick = function () {
      const s = Math.round((Date.now() - started) / 1000);
      $("pending-text").textContent = "最佳化計算中，已 " + s + " 秒（求解上限 " + limit + " 秒，另需讀取資料）…";
      $("pending-bar").value = Math.min(95, 100 * s / (limit + 5));
    };
    tick();
    ticking = setInterval(tick, 1000);
  }

  $("plan-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const body = readForm();
    if (!body) { sm.say("msg", "規劃條件有誤，請依欄位說明修正。"); return; }
    sm.say("msg", "");
    pending(true, body.time_limit_s);
    try {
      const r = await sm.api("POST", "/api/analysis/placement", body);
      show(r.data, body);
      sm.say("msg", "規劃完成：建議 " + r.data.sites.length + " 個地點。", "ok");
    } catch (e) {
      sm.say("msg", e.message);
    } finally {
      pending(false);
    }
  });

  // ------------------------------------------------------------------ results
  function pct(v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(1) + "%"; }

  function show(data, body) {
    const run = data.run, total = run.total_weight || 0;
    current = { run: run, sites: data.sites, radius: body.radius_m, fov: body.fov_deg || 360 };
    $("result").hidden = false;
    $("run-label").textContent = "（第 " + run.id + " 次規劃，" + (run.duration_ms / 1000).toFixed(1) + " 秒）";
    const existing = run.existing_weight || 0;
    $("before").textContent = total ? pct(existing / total) : "—";
    $("after").textContent = pct(run.coverage_ratio);
    $("after-note").textContent = "需求權重 " + Math.round(run.covered_weight) + " / " + Math.round(total);
    $("n-sites").textContent = data.sites.length;
    $("cands").textContent = "候選 " + run.candidates + " 處" + (run.excluded_sites ? "，排除不採納或已建議 " + run.excluded_sites + " 處" : "");
    $("solve-status").textContent = { optimal: "最佳解", time_limit: "達時間上限", greedy: "快速預覽" }[run.status] || run.status;
    $("gap").textContent = run.gap === null || run.gap === undefined ? "" : "與最佳解差距 ≤ " + pct(run.gap);
    const tbody = $("sites").querySelector("tbody");
    tbody.innerHTML = "";
    suggested.clearLayers();
    Object.keys(byRank).forEach(function (k) { delete byRank[k]; });
    let cumulative = existing;
    data.sites.forEach(function (s) {
      cumulative += s.marginal_gain;
      const kind = (C.site_kinds || {})[s.kind] || s.kind;
      const tr = document.createElement("tr");
      tr.dataset.rank = s.rank;
      tr.dataset.kind = s.kind;
      const decidable = C.can_decide && s.kind !== "proposal";
      tr.innerHTML = (C.can_decide ? '<td>' + (decidable ? '<input type="checkbox" class="pick" aria-label="選取第 ' + s.rank + ' 名">' : "") + "</td>" : "") +
        "<td>" + s.rank + "</td><td>" + sm.esc(kind) + ' <small class="muted">' + s.lat.toFixed(5) + ", " + s.lon.toFixed(5) +
        (s.bearing_deg === null || s.bearing_deg === undefined ? "" : "，朝 " + Math.round(s.bearing_deg) + "°") + "</small></td>" +
        "<td>" + s.marginal_gain.toFixed(1) + "</td><td>" + (total ? pct(cumulative / total) : "—") + "</td>" +
        '<td class="state">' + (s.kind === "proposal" ? "已是建議設置" : "待決定") + "</td>";
      tr.addEventListener("click", function (ev) {
        if (ev.target.tagName === "INPUT") return;
        map.setView([s.lat, s.lon], Math.max(map.getZoom(), 17));
        const m = byRank[s.rank];
        if (m) m.openTooltip();
      });
      tbody.appendChild(tr);
      const poly = sector(s.lat, s.lon, s.bearing_deg, current.fov, current.radius);
      if (poly) L.polygon(poly, { color: "#d95f02", weight: 1, fillOpacity: 0.2, interactive: false }).addTo(suggested);
      else L.circle([s.lat, s.lon], { radius: current.radius, color: "#d95f02", weight: 1, fillOpacity: 0.08, interactive: false }).addTo(suggested);
      byRank[s.rank] = L.marker([s.lat, s.lon], {
        icon: L.divIcon({ className: "site-icon", html: "<span>" + s.rank + "</span>", iconSize: [24, 24] }),
        title: "建議地點 #" + s.rank,
      }).bindTooltip("#" + s.rank + " " + kind + "：邊際增益 " + s.marginal_gain.toFixed(1)).addTo(suggested);
    });
    const all = $("all");
    if (all) all.checked = false;
    const group = L.featureGroup(suggested.getLayers());
    if (data.sites.length && group.getBounds().isValid()) map.fitBounds(group.getBounds(), { padding: [30, 30], maxZoom: 17 });
  }

  if ($("all")) {
    $("all").addEventListener("change", function () {
      document.querySelectorAll("#sites .pick").forEach(function (c) { c.checked = $("all").checked; });
    });
  }

  function picked() {
    return Array.prototype.map.call(document.querySelectorAll("#sites .pick:checked"), function (c) {
      return c.closest("tr");
    });
  }

  async function decide(status) {
    const rows = picked();
    if (!rows.length) { sm.say("msg", "請先勾選要處理的建議地點。"); return; }
    const bySite = {};
    current.sites.forEach(function (s) { bySite[s.rank] = s; });
    let done = 0;
    for (const tr of rows) {
      const s = bySite[tr.dataset.rank];
      const accepted = status === "proposed";
      const feature = {
        type: "Feature",
        geometry: { type: "Point", coordinates: [s.lon, s.lat] },
        properties: {
          status: status,
          owner: "police",
          bearing_deg: s.bearing_deg === null || s.bearing_deg === undefined ? 0 : s.bearing_deg,
          fov_deg: s.bearing_deg === null || s.bearing_deg === undefined ? 360 : current.fov,
          range_m: current.radius,
          name: "最佳化建議 #" + s.rank + (accepted ? "" : "（不採納）"),
          note: "監視器設置規劃第 " + current.run.id + " 次，排序 " + s.rank + "，邊際增益 " + s.marginal_gain.toFixed(1) + "。",
        },
      };
      try {
        const r = await sm.api("POST", "/api/cameras", feature);
        const cell = tr.querySelector(".state");
        cell.textContent = accepted ? "已採納：建議設置監視器 #" + r.data.id : "不採納（#" + r.data.id + "，之後不再建議）";
        tr.dataset.state = accepted ? "accepted" : "rejected";
        tr.dataset.cameraId = r.data.id;
        const box = tr.querySelector(".pick");
        if (box) box.remove();
        done += 1;
      } catch (e) {
        sm.say("msg", "第 " + s.rank + " 名未能處理：" + e.message);
        return;
      }
    }
    sm.say("msg", (status === "proposed" ? "已採納 " : "已不採納 ") + done + " 個地點。", "ok");
    loadCameras();
  }

  if ($("accept")) $("accept").addEventListener("click", function () { decide("proposed"); });
  if ($("reject")) $("reject").addEventListener("click", function () { decide("rejected"); });
})();
