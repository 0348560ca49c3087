/* Application wizard (附件1): boundary from villages and/or a drawn polygon, work items,
   budget, contact; saved as a draft through /api/applications and submitted with a
   transition. Nothing typed is lost on an error: the page never reloads. */
(function () {
  "use strict";
  const C = sm.cfg();
  const $ = function (id) { return document.getElementById(id); };
  const A = C.application;          // null for a new application
  let appId = A ? A.id : null;
  let etag = A ? '"' + A.version + '"' : null;
  const picked = {};                // village code -> name
  let drawn = null;                 // the drawn boundary layer
  let step = 1;

  // ---- map: villages to pick, a polygon to draw
  const map = sm.baseMap("map", C.basemap);
  const villages = L.geoJSON(null, {
    pmIgnore: true,
    style: function (f) {
      const on = !!picked[f.properties.code];
      return { color: on ? "#0b5394" : "#777", weight: on ? 3 : 1, fillColor: "#0b5394", fillOpacity: on ? 0.3 : 0.04 };
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(f.properties.district_name + f.properties.name);
      layer.on("click", function () {
        if (map.pm && map.pm.globalDrawModeEnabled()) return;
        const code = f.properties.code;
        if (picked[code]) delete picked[code]; else picked[code] = f.properties.name;
        villages.resetStyle(layer);
        showPicked();
      });
    },
  }).addTo(map);
  function refreshVillages() { sm.villagesIn(map, villages).catch(function () {}); }
  map.on("moveend", refreshVillages);
  if (map.pm) {
    map.pm.setLang("zh_tw");
    map.pm.addControls({ position: "topleft", drawMarker: false, drawPolyline: false, drawCircle: false,
      drawCircleMarker: false, drawRectangle: false, drawText: false, drawPolygon: true, editMode: true,
      dragMode: false, cutPolygon: false, removalMode: false, rotateMode: false });
    map.on("pm:create", function (e) {
      if (drawn) map.removeLayer(drawn);
      drawn = e.layer;
      showPicked();
    });
  }
  function showPicked() {
    const names = Object.values(picked);
    $("villages-picked").textContent = names.length ? names.join("、") : "（尚未選擇）";
    $("boundary-state").textContent = drawn ? "已繪製" : "（未繪製）";
    $("clear-boundary").hidden = !drawn;
  }
  $("clear-boundary").addEventListener("click", function () { if (drawn) map.removeLayer(drawn); drawn = null; showPicked(); });

  // ---- budget table
  function addLine(line) {
    line = line || {};
    const tr = document.createElement("tr");
    tr.innerHTML = '<td><input class="b-name" maxlength="128" aria-label="項目名稱"></td>' +
      '<td><input class="b-unit" maxlength="16" value="式" aria-label="單位"></td>' +
      '<td><input class="b-qty" type="number" min="0" step="0.01" value="1" aria-label="數量"></td>' +
      '<td><input class="b-price" type="number" min="0" step="1" aria-label="單價"></td>' +
      '<td class="b-amount">0</td><td><button type="button" class="b-del">刪除</button></td>';
    tr.querySelector(".b-name").value = line.name || "";
    tr.querySelector(".b-unit").value = line.unit || "式";
    tr.querySelector(".b-qty").value = line.quantity || 1;
    tr.querySelector(".b-price").value = line.unit_price === undefined ? "" : line.unit_price;
    tr.querySelector(".b-del").addEventListener("click", function () { tr.remove(); total(); });
    tr.addEventListener("input", total);
    $("budget").tBodies[0].appendChild(tr);
    total();
  }
  function total() {
    let sum = 0;
    $("budget").querySelectorAll("tbody tr").forEach(function (tr) {
      const a = Math.round(Number(tr.querySelector(".b-qty").value || 0) * Number(tr.querySelector(".b-price").value || 0));
      tr.querySelector(".b-amount").textContent = a.toLocaleString("zh-TW");
      sum += a;
    });
    $("budget-total").textContent = sm.money(sum);
    return sum;
  }
  $("add-line").addEventListener("click", function () { addLine(); });

  // ---- steps
  function go(n) {
    step = n;
    document.querySelectorAll("fieldset[data-step]").forEach(function (f) { f.hidden = Number(f.dataset.step) !== n; });
    document.querySelectorAll("#steps li").forEach(function (li) { li.classList.toggle("on", Number(li.dataset.step) === n); });
    $("prev").hidden = n === 1;
    $("next").hidden = n === 4;
    $("submit").hidden = n !== 4;
    if (n === 1) setTimeout(function () { map.invalidateSize(); }, 0);
  }
  $("next").addEventListener("click", function () { if (check(step)) go(step + 1); });
  $("prev").addEventListener("click", function () { go(step - 1); });
  document.querySelectorAll("#steps li").forEach(function (li) { li.addEventListener("click", function () { go(Number(li.dataset.step)); }); });

  // ---- the form as the API wants it
  function body() {
    const lines = [];
    $("budget").querySelectorAll("tbody tr").forEach(function (tr) {
      const name = tr.querySelector(".b-name").value.trim();
      const price = tr.querySelector(".b-price").value;
      if (!name && price === "") return;  // an empty row is ignored, not an error
      lines.push({ name: name, unit: tr.querySelector(".b-unit").value.trim() || "式",
        quantity: Number(tr.querySelector(".b-qty").value || 0), unit_price: Number(price || 0) });
    });
    const items = [];
    document.querySelectorAll('input[name="work_item"]:checked').forEach(function (c) { items.push({ item: c.value, description: "" }); });
    const out = {
      organisation: { name: $("org_name").value.trim() || null, representative: $("representative").value.trim() || null },
      contact: { name: $("contact_name").value.trim(), phone: $("phone").value.trim(), email: $("email").value.trim() || null },
      village_codes: Object.keys(picked),
      boundary: drawn ? drawn.toGeoJSON().geometry : null,
      boundary_note: $("boundary_note").value.trim() || null,
      summary: $("summary").value.trim(), goals: $("goals").value.trim(), expected_results: $("expected_results").value.trim(),
      period_start: $("period_start").value || null, period_end: $("period_end").value || null,
      work_items: items, budget: lines, self_funding: Number($("self_funding").value || 0),
    };
    return out;
  }

  // Checks of one step (or all for submitting), in zh-TW next to the fields.
  function check(n, forSubmit) {
    sm.clearErrors();
    const b = body();
    const errs = [];
    const err = function (id, text) { sm.fieldError(id, text); errs.push(text); };
    if ((n === 1 || forSubmit) && forSubmit && !b.village_codes.length && !b.boundary) err("scope-anchor", "請點選至少一個村里，或在地圖上畫出社區範圍。");
    if (n === 2 || forSubmit) {
      if (forSubmit && !b.work_items.length) err("work-anchor", "請勾選至少一項預定辦理的工作項目。");
      if (b.period_start && b.period_end && b.period_end < b.period_start) err("period_end", "執行期間的結束日不能早於開始日。");
    }
    if (n === 3 || forSubmit) {
      $("budget").querySelectorAll("tbody tr").forEach(function (tr, i) {
        const name = tr.querySelector(".b-name"), price = tr.querySelector(".b-price"), qty = tr.querySelector(".b-qty");
        if (!name.value.trim() && price.value === "") return;
        if (!name.value.trim()) err(name, "第 " + (i + 1) + " 列請填寫項目名稱。");
        if (price.value === "" || Number(price.value) < 0 || !Number.isInteger(Number(price.value))) err(price, "第 " + (i + 1) + " 列單價須為 0 以上的整數。");
        if (!(Number(qty.value) > 0)) err(qty, "第 " + (i + 1) + " 列數量須大於 0。");
      });
      if (forSubmit && total() <= 0) err("add-line", "請填寫經費概算（合計須大於 0）。");
      if (Number($("self_funding").value || 0) < 0) err("self_funding", "自籌款不能是負數。");
    }
    if (n === 4 || forSubmit) {
      if (forSubmit && !b.contact.name) err("contact_name", "請填寫聯絡人。");
      if (forSubmit && !b.contact.phone) err("phone", "請填寫聯絡電話。");
      if (b.contact.phone && !/^[0-9()+\-#\s]{6,32}$/.test(b.contact.phone)) err("phone", "聯絡電話只能包含數字、空白與 ()+-#。");
      if (b.contact.email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(b.contact.email)) err("email", "電子郵件格式不正確。");
    }
    if (errs.length) sm.say("msg", "請修正標示的欄位：" + errs.join(" "));
    else sm.say("msg", "");
    return !errs.length;
  }

  async function save() {
    const b = body();
    if (appId === null) {
      const r = await sm.api("POST", "/api/applications", Object.assign({ year: C.year }, b));
      appId = r.data.id;
      etag = r.etag;
      history.replaceState(null, "", "/app/applications/" + appId + "/edit");
    } else {
      const r = await sm.api("PUT", "/api/applications/" + appId + "/form", b, etag ? { "If-Match": etag } : {});
      etag = r.etag;
    }
  }

  // ---- attachments: uploaded once the draft exists (a file needs its application)
  const MAX_FILE = 10 * 1024 * 1024;
  function checkFiles() {
    const big = Array.from($("attachments").files).filter(function (f) { return f.size > MAX_FILE; });
    if (big.length) {
      sm.fieldError("attachments", "檔案太大（每檔上限 10 MB）：" + big.map(function (f) { return f.name; }).join("、"));
      return false;
    }
    return true;
  }
  async function listFiles() {
    if (appId === null) return;
    const r = await sm.api("GET", "/api/applications/" + appId + "/files");
    $("attachment-list").innerHTML = (r.data || []).map(function (f) {
      return '<li><a href="' + sm.esc(f.href) + '">' + sm.esc(f.filename) + "</a></li>";
    }).join("");
  }
  async function upload() {
    const input = $("attachments");
    const chosen = Array.from(input.files);
    for (const f of chosen) {
      const fd = new FormData();
      fd.append("purpose", "attachment");
      fd.append("file", f, f.name);
      try {
        await sm.api("POST", "/api/applications/" + appId + "/files", fd);
      } catch (e) {
        sm.fieldError("attachments", f.name + "：" + e.message);
        throw e;
      }
    }
    input.value = "";
    if (chosen.length) await listFiles();
  }

  async function run(btn, fn) {
    btn.disabled = true;
    try { await fn(); } catch (e) {
      sm.say("msg", e.status === 412 ? "申請表已在別處修改，請重新整理頁面後再編輯。" : e.message);
    } finally { btn.disabled = false; }
  }
  $("save").addEventListener("click", function () {
    if (!check(step) || !checkFiles()) return;
    run($("save"), async function () { await save(); await upload(); sm.say("msg", "草稿已儲存。", "ok"); });
  });
  $("submit").addEventListener("click", function () {
    if (!check(0, true)) {
      // Show the step of the first field that is wrong (its message is beside it).
      const first = document.querySelector(".field-error[data-for]:not([hidden])");
      const fs = first && first.closest("fieldset[data-step]");
      if (fs) go(Number(fs.dataset.step));
      return;
    }
    if (!checkFiles()) { go(4); return; }
    run($("submit"), async function () {
      await save();
      await upload();
      await sm.api("POST", "/api/applications/" + appId + "/transitions", { to: "submitted" });
      window.location.href = "/app/applications/" + appId + "?sent=1";
    });
  });

  // ---- an existing draft: fill everything in
  if (A && A.form) {
    const f = A.form;
    (f.village_codes || []).forEach(function (c, i) { picked[c] = (f.village_names || [])[i] || c; });
    if (f.boundary) {
      drawn = L.geoJSON(f.boundary).getLayers()[0];
      drawn.addTo(map);
    }
    $("boundary_note").value = f.boundary_note || "";
    $("summary").value = f.summary || ""; $("goals").value = f.goals || ""; $("expected_results").value = f.expected_results || "";
    $("period_start").value = f.period_start || ""; $("period_end").value = f.period_end || "";
    $("org_name").value = f.organisation.name || ""; $("representative").value = f.organisation.representative || "";
    $("contact_name").value = f.contact.name || ""; $("phone").value = f.contact.phone || ""; $("email").value = f.contact.email || "";
    $("self_funding").value = f.self_funding || 0;
    (A.work_items || []).forEach(function (w) { const c = $("wi-" + w.item); if (c) c.checked = true; });
    (A.budget || []).forEach(addLine);
    showPicked();
    if (drawn) map.fitBounds(drawn.getBounds());
  }
  listFiles().catch(function () {});
  if (!$("budget").tBodies[0].rows.length) addLine();
  map.setView(drawn ? drawn.getBounds().getCenter() : [25.0215, 121.4655], 15);
  refreshVillages();
  go(1);
})();
