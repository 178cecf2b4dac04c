// The progress page of a background consolidation solve (core.jobs): every two seconds it
// asks the same address again; while the work runs
// (202) it updates #progress-live in place (announced politely to screen readers), and when
// the result is ready it shows it. Without JavaScript the page's <noscript> refresh does the
// same by reloading (axe-core forbids a timed refresh for everyone). A siting scenario's Monte
// Carlo run has sites-progress.js instead: its page is a bar of draws done, fed by a JSON
// count the API also offers, where a solve's page is text (phase, plan, bound) best rendered
// by the server.
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
