/* City approvals: decide forwarded applications; the quota counter follows each decision
   from the program year the API returns (so it is right even when others approve too). */
(function () {
  "use strict";
  const C = sm.cfg();
  const table = document.getElementById("forwarded");
  if (!table) return;
  async function counter() {
    const r = await sm.api("GET", "/api/program-years/" + C.year);
    document.getElementById("used").textContent = r.data.subsidised;
    document.getElementById("left").textContent = r.data.seats_left;
    document.getElementById("quota").classList.toggle("full", r.data.seats_left <= 0);
  }
  table.addEventListener("click", async function (ev) {
    const btn = ev.target.closest("button[data-to]");
    if (!btn) return;
    const tr = btn.closest("tr");
    tr.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    try {
      const r = await sm.api("POST", "/api/applications/" + tr.dataset.id + "/transitions", { to: btn.dataset.to });
      tr.querySelector(".row-actions").textContent = r.data.status_label;
      tr.dataset.status = r.data.status;
      sm.say("msg", tr.cells[1].textContent + "：" + r.data.status_label + "。", "ok");
      await counter();
    } catch (e) {
      sm.say("msg", e.message);
      tr.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    }
  });
  setInterval(function () { counter().catch(function () {}); }, 30000);
})();
