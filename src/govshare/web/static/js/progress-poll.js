// The progress page of a background computation (core.jobs: a consolidation solve, a sites
// Monte Carlo run): every two seconds it asks the same address again; while the work runs
// (202) it updates #progress-live in place (announced politely to screen readers), and when
// the result is ready it shows it. Without JavaScript the page's <noscript> refresh does the
// same by reloading (axe-core forbids a timed refresh for everyone).
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
        if (!next) { window.location.replace(window.location.href); return; }  // e.g. an error
        live.innerHTML = next.innerHTML;
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
