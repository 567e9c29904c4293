// The review pages work without this file (every action is a plain form); it only adds conveniences:
// tapping a photo enlarges it in place, "select all" ticks every household on the page, and a flag or a rejection
// without a reason is stopped before it is sent.
(function () {
  "use strict";

  function enlargePhotos() {
    var dialog = document.getElementById("lightbox");
    if (!dialog || typeof dialog.showModal !== "function") return;
    var image = document.createElement("img");
    image.alt = "";
    dialog.appendChild(image);
    document.querySelectorAll("a.enlarge").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var thumb = link.querySelector("img");
        image.src = link.getAttribute("data-full") || link.href;
        image.alt = thumb ? thumb.alt : "";
        dialog.showModal();
      });
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog || event.target === image) dialog.close();
    });
  }

  function selectAll() {
    var toggle = document.querySelector("[data-select-all]");
    if (!toggle) return;
    var boxes = document.querySelectorAll("input[type=checkbox][name=instance]");
    toggle.closest("label").hidden = false;
    toggle.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = toggle.checked; });
    });
    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
        toggle.checked = ticked === boxes.length;
        toggle.indeterminate = ticked > 0 && ticked < boxes.length;
      });
    });
  }

  function needReason() {
    document.querySelectorAll("form[data-reason-needed]").forEach(function (form) {
      var reason = form.querySelector("[data-reason]");
      if (!reason) return;
      reason.addEventListener("change", function () { reason.setCustomValidity(""); });
      form.addEventListener("submit", function (event) {
        // Another button of the same form (the queue's bulk stage step) posts elsewhere and needs no reason.
        if (event.submitter && event.submitter.hasAttribute("formaction")) return;
        var decision = event.submitter && event.submitter.name === "decision"
          ? event.submitter.value
          : (form.querySelector("select[name=decision]") || {}).value;
        if ((decision === "hasIssues" || decision === "rejected") && !reason.value) {
          event.preventDefault();
          reason.setCustomValidity(form.getAttribute("data-reason-needed"));
          reason.reportValidity();
          reason.focus();
        }
      });
    });
  }

  enlargePhotos();
  selectAll();
  needReason();
})();
