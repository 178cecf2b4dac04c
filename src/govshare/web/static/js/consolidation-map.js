// Draws a consolidation plan: kept buildings (blue), closed ones (orange) and a line from each
// closed building to where its occupants go. Data comes from the page's JSON block; the
// tables on the page carry the same information without JavaScript.
(function () {
  "use strict";
  var el = document.getElementById("plan-map");
  var dataEl = document.getElementById("plan-data");
  if (!el || !dataEl || typeof L === "undefined" || !window.govshareText) { return; }
  var data = JSON.parse(dataEl.textContent);
  var map = L.map(el);
  if (window.govshareTiles) { window.govshareTiles(map, el); }
  map.attributionControl.setPrefix(false);
  var layer = L.featureGroup().addTo(map);
  data.moves.forEach(function (m) {
    L.polyline([[m.from[1], m.from[0]], [m.to[1], m.to[0]]],
      { color: "#565c65", weight: 1 + 3 * m.share, dashArray: "4 4" }).addTo(layer);
  });
  data.sites.forEach(function (s) {
    L.circleMarker([s.lat, s.lon], {
      radius: 7, color: "#1b1b1b", weight: 1, fillOpacity: 0.9,
      fillColor: s.keep ? "#005ea2" : "#e66f0e"
    }).bindTooltip(govshareText(s.name + " (" + s.jurisdiction + "): " + (s.keep ? "keep" : "close")))
      .addTo(layer);
  });
  if (data.sites.length) { map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 15 }); }
  el.setAttribute("data-ready", "true");
})();
