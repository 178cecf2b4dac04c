// The staff queue's map: one dot per request listed in the table (red when overdue); a dot's
// tooltip names it (as text) and choosing it opens the case. The table holds the same, so
// without JavaScript nothing is missing.
(function () {
  "use strict";
  var el = document.getElementById("queue-map");
  var data = document.getElementById("queue-points");
  if (!el || !data || typeof L === "undefined" || !window.govshareText) { return; }
  var points = JSON.parse(data.textContent || "[]");
  if (!points.length) { return; }
  var section = document.getElementById("queue-map-section");
  if (section) { section.hidden = false; }
  var map = L.map(el, { zoomSnap: 0.25 });
  if (window.govshareTiles) { window.govshareTiles(map, el); }
  map.attributionControl.setPrefix(false);
  var bounds = L.latLngBounds([]);
  points.forEach(function (p) {
    var at = L.latLng(p.lat, p.lon);
    bounds.extend(at);
    L.circleMarker(at, {
      radius: 7, color: "#1b1b1b", weight: 1, fillOpacity: 0.9,
      fillColor: p.overdue ? "#d83933" : "#005ea2", className: "gs-request"
    }).bindTooltip(govshareText(p.label + (p.overdue ? " (overdue)" : "")))
      .on("click", function () { window.location.assign(p.href); })
      .addTo(map);
  });
  map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 });
  fetch(el.getAttribute("data-boundaries"), { headers: { Accept: "application/geo+json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (geo) {
      L.geoJSON(geo, { interactive: false, style: function () {
        return { color: "#71767a", weight: 1, fillOpacity: 0 }; } }).addTo(map).bringToBack();
      el.setAttribute("data-ready", "true");
    })
    .catch(function (err) { el.setAttribute("data-error", String(err)); });
})();
