"use strict";
// Auto-refresh of the dev panel's dashboards (admin/genpipe/refresh.html): every N seconds,
// fetch the page again and swap the elements marked data-gp-live (figures, tables, charts;
// never a form). The interval comes from the page (settings or ?refresh=), a choice made in
// the select is remembered by the browser; "Pause" stops it, and it waits while the tab is
// hidden. No dependency, no network but the page's own URL.
(function () {
  var STORE = "genpipe.panel.refresh_s";

  function start(control) {
    var select = document.getElementById("gp-refresh-interval");
    var toggle = document.getElementById("gp-refresh-toggle");
    var status = document.getElementById("gp-refresh-status");
    var interval = parseInt(control.dataset.interval, 10) || 0;
    var stored = null;
    try { stored = window.localStorage.getItem(STORE); } catch (e) { stored = null; }
    if (control.dataset.fromUrl !== "1" && stored !== null && select.querySelector('option[value="' + stored + '"]')) {
      interval = parseInt(stored, 10) || 0;
      select.value = String(interval);
    }
    var paused = false;
    var timer = null;
    var busy = false;

    function say(text) { status.textContent = text; }

    function schedule() {
      if (timer !== null) { window.clearTimeout(timer); timer = null; }
      control.dataset.state = !interval ? "off" : (paused ? "paused" : "on");
      toggle.disabled = !interval;
      toggle.textContent = paused ? "Resume" : "Pause";
      toggle.setAttribute("aria-pressed", paused ? "true" : "false");
      if (interval && !paused) { timer = window.setTimeout(tick, interval * 1000); }
    }

    function tick() {
      timer = null;
      if (document.hidden || busy) { schedule(); return; }
      busy = true;
      fetch(window.location.href, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text().then(function (html) { return {response: response, html: html}; });
        })
        .then(function (got) {
          var fresh = new DOMParser().parseFromString(got.html, "text/html");
          var swapped = 0;
          document.querySelectorAll("[data-gp-live]").forEach(function (old) {
            var next = old.id ? fresh.getElementById(old.id) : null;
            if (next) { old.replaceWith(document.importNode(next, true)); swapped += 1; }
          });
          if (!swapped) { throw new Error("the page came back without its figures (signed out?)"); }
          control.dataset.refreshes = String((parseInt(control.dataset.refreshes, 10) || 0) + 1);
          say("updated " + new Date().toLocaleTimeString());
          document.dispatchEvent(new CustomEvent("gp:refreshed"));
        })
        .catch(function (error) { say("refresh failed: " + error.message); })
        .then(function () { busy = false; schedule(); });
    }

    select.addEventListener("change", function () {
      interval = parseInt(select.value, 10) || 0;
      try { window.localStorage.setItem(STORE, String(interval)); } catch (e) { /* private mode */ }
      paused = false;
      schedule();
    });
    toggle.addEventListener("click", function () {
      paused = !paused;
      say(paused ? "paused" : "");
      schedule();
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && interval && !paused) { schedule(); }
    });
    schedule();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var control = document.getElementById("gp-refresh");
    if (control) { start(control); }
  });
})();
