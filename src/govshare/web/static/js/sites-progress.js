// A siting scenario's background Monte Carlo run: asks the server how far it is once a second
// (data-src, JSON), moves the progress bar, and shows the result page when the run ends
// (finished, canceled or failed). The page never blocks and never refreshes itself on a timer
// (axe's meta-refresh rule); without JavaScript its "Reload now" link does the same.
(function () {
  "use strict";
  var el = document.getElementById("mc-progress");
  var note = document.getElementById("progress-count");
  if (!el || !el.getAttribute("data-src")) { return; }
  var src = el.getAttribute("data-src");
  var lastTenth = -1;
  function poll() {
    fetch(src, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (s) {
        if (s.state !== "running") { window.location.reload(); return; }
        el.max = s.total;
        el.value = s.done;
        el.textContent = Math.floor(100 * s.done / Math.max(s.total, 1)) + "%";
        var tenth = Math.floor(10 * s.done / Math.max(s.total, 1));
        if (note && tenth !== lastTenth) {  // the live region speaks every tenth, not every tick
          lastTenth = tenth;
          note.textContent = s.done.toLocaleString("en-US") + " of " +
            s.total.toLocaleString("en-US") + " draws done";
        }
        el.setAttribute("data-polled", String(s.done));
        window.setTimeout(poll, 1000);
      })
      .catch(function (err) {
        el.setAttribute("data-error", String(err));
        window.setTimeout(poll, 5000);
      });
  }
  window.setTimeout(poll, 500);
})();
