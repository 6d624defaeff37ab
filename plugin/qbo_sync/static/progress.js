/* The "Syncing with QBO" banner: polls the status JSON every second and moves the progress
   bars; when the set of active runs changes (a run ended or another began) the page reloads,
   so the details, failures and buttons are shown as they now are. */
(function () {
  "use strict";
  var banner = document.getElementById("qbo-sync-banner");
  if (!banner || !window.fetch) {
    return;
  }
  var url = banner.getAttribute("data-status-url");
  var shown = Array.prototype.map.call(banner.querySelectorAll(".qbo-run"), function (el) {
    return el.getAttribute("data-company");
  }).sort().join(",");

  function show(run) {
    var row = banner.querySelector('.qbo-run[data-company="' + String(run.company_id) + '"]');
    if (!row) {
      return;
    }
    row.querySelector(".qbo-run-label").textContent = run.label;
    var bar = row.querySelector(".qbo-run-bar");
    bar.style.width = String(Number(run.percent) || 0) + "%";
    bar.setAttribute("aria-valuenow", String(run.done));
    bar.setAttribute("aria-valuemax", String(run.total));
  }

  function update(data) {
    var now = data.runs.map(function (run) {
      return String(run.company_id);
    }).sort().join(",");
    if (!data.active || now !== shown) {
      window.location.reload();
      return false;
    }
    data.runs.forEach(show);
    return true;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data || update(data)) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 1000);
      });
  }

  window.setTimeout(poll, 1000);
})();
