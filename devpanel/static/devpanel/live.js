"use strict";
// Live status on the generation pages: the list's status badges and the detail page follow
// the event stream (Server-Sent Events, signed in with the admin session), no reload.
(function () {
  var TERMINAL = ["completed", "failed", "cancelled"];

  function setBadge(badge, status) {
    badge.className = "gp-badge gp-status-" + status;
    badge.textContent = status;
    if (badge.tagName === "A") {
      // A status chip links to the list of its status: follow the new one.
      var link = new URL(badge.href, window.location.href);
      link.searchParams.set("status__exact", status);
      badge.href = link.pathname + link.search;
      badge.title = "Generations " + status;
    }
  }

  function say(live, text) {
    var note = document.getElementById("gp-live-note");
    if (note) {
      note.textContent = text;
      note.hidden = false;
    }
    live.dataset.state = text;
  }

  function follow(live, onEvent, closeOnTerminal) {
    if (!window.EventSource) {
      return;
    }
    var source = new EventSource(live.dataset.eventsUrl, {withCredentials: true});
    source.onopen = function () {
      live.dataset.connected = "yes";
    };
    source.onmessage = function (message) {
      var event = JSON.parse(message.data);
      onEvent(event);
      if (closeOnTerminal && TERMINAL.indexOf(event.to_status) !== -1) {
        source.close();  // the stream is over; do not let the browser reconnect
      }
    };
  }

  function rowOf(id) {
    var found = null;
    document.querySelectorAll("#result_list input.action-select").forEach(function (box) {
      if (box.value === id) {
        found = box.closest("tr");
      }
    });
    return found;
  }

  function list(live) {
    var unseen = 0;
    follow(live, function (event) {
      var row = rowOf(event.generation_id);
      if (!row) {
        unseen += 1;
        say(live, unseen + " generation(s) changed outside this page; reload to see them.");
        return;
      }
      var badge = row.querySelector(".gp-badge");
      if (badge) {
        setBadge(badge, event.to_status);
      }
      row.classList.add("gp-live-updated");
      row.dataset.eventId = event.event_id;
    }, false);
  }

  function detail(live) {
    if (live.dataset.terminal === "yes") {
      return;
    }
    var log = document.getElementById("gp-live-log");
    follow(live, function (event) {
      document.querySelectorAll(".field-badge .gp-badge, #gp-live-badge").forEach(function (b) {
        setBadge(b, event.to_status);
      });
      live.dataset.status = event.to_status;
      if (log) {
        var item = document.createElement("li");
        item.textContent = event.at + "  " + (event.from_status || "∅") + " → " +
          event.to_status + (event.reason ? "  (" + event.reason + ")" : "");
        log.appendChild(item);
        log.hidden = false;
      }
      if (TERMINAL.indexOf(event.to_status) !== -1) {
        document.querySelectorAll("[data-gp-while-running]").forEach(function (el) {
          el.style.display = "none";  // Cancel: too late now
        });
        say(live, "Now " + event.to_status + ": reload for the result and the timeline.");
      }
    }, true);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("gp-live");
    if (!live) {
      return;
    }
    if (live.dataset.page === "list") {
      list(live);
    } else {
      detail(live);
    }
  });
})();
