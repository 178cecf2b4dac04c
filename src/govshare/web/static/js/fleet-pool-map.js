// Draws the fleet pooling plan: each cluster of home sites as a circle (orange where vehicles
// can be shared or removed) and its sites as dots. Data comes from the page's JSON block;
// tooltips are text (map-text.js). The tables on the page say the same without JavaScript.
(function () {
  "use strict";
  var el = document.getElementById("pool-map");
  var dataEl = document.getElementById("pool-data");
  if (!el || !dataEl || typeof L === "undefined" || !window.govshareText) { return; }
  var data = JSON.parse(dataEl.textContent);
  var map = L.map(el);
  map.attributionControl.setPrefix(false);
  var layer = L.featureGroup().addTo(map);
  data.sites.forEach(function (s) {
    L.circleMarker([s.lat, s.lon], { radius: 3, color: "#565c65", weight: 1, fillOpacity: 0.8 })
      .bindTooltip(govshareText("Home site in cluster " + s.cluster)).addTo(layer);
  });
  data.clusters.forEach(function (c) {
    L.circleMarker([c.lat, c.lon], {
      radius: 10, color: "#1b1b1b", weight: 1, fillOpacity: 0.85,
      fillColor: c.removable > 0 ? "#e66f0e" : "#005ea2"
    }).bindTooltip(govshareText(c.label)).addTo(layer);
  });
  if (data.clusters.length) { map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 14 }); }
  el.setAttribute("data-ready", "true");
  // The members' boundaries underneath, for orientation only (no base tiles: works offline).
  var src = el.getAttribute("data-src");
  if (src) {
    map.attributionControl.addAttribution("Boundaries: U.S. Census Bureau; City of Seattle");
    fetch(src, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (geo) {
        var below = L.geoJSON(geo, {
          interactive: false,
          filter: function (f) { return f.properties.kind !== "state"; },
          style: { color: "#71767a", weight: 1, fillOpacity: 0.04 }
        }).addTo(map);
        below.bringToBack();
      })
      .catch(function (err) { el.setAttribute("data-boundaries-error", String(err)); });
  }
})();
