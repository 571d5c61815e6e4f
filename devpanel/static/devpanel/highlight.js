"use strict";
// The generation list's ?highlight=<id>: mark that generation's row and scroll it into view.
document.addEventListener("DOMContentLoaded", function () {
  var marker = document.getElementById("gp-highlight");
  if (!marker) {
    return;
  }
  var id = marker.dataset.id;
  document.querySelectorAll("#result_list input.action-select").forEach(function (box) {
    if (box.value === id) {
      var row = box.closest("tr");
      row.classList.add("gp-highlight");
      row.scrollIntoView({block: "center"});
    }
  });
});
