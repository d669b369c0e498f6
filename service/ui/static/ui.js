// clinsynth UI: the little the pages need beyond htmx. No inline script (the CSP forbids it).
"use strict";
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest ? event.target.closest("form[data-progress]") : null;
  if (!form || !event.detail.lengthComputable) return;
  var bar = document.getElementById(form.dataset.progress);
  if (bar) bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
});
document.addEventListener("htmx:afterRequest", function (event) {
  var form = event.target;
  if (form.matches && form.matches("form[data-progress]") && event.detail.successful) {
    var bar = document.getElementById(form.dataset.progress);
    if (bar) bar.value = 100;
    form.reset();
  }
});
document.addEventListener("DOMContentLoaded", function () {
  var cited = document.getElementById("cited");
  if (cited) cited.scrollIntoView({ block: "center" });
});
