// The progress page of a background consolidation solve: every two seconds it asks the same
// address again; while the solve runs (202) it updates the progress in place (announced
// politely to screen readers), and when the plan is ready it shows it. Without JavaScript
// the page's <noscript> refresh does the same by reloading.
(function () {
  "use strict";
  var live = document.getElementById("progress-live");
  if (!live || !window.fetch || !window.DOMParser) { return; }
  function poll() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.status !== 202) { window.location.replace(window.location.href); return null; }
        return r.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("progress-live");
        if (next) { live.innerHTML = next.innerHTML; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
