// Choropleth of a siting scenario's candidates: counties shaded by weighted score, the
// baseline outlined. Works offline (no base tiles): the boundaries come from the scenario's
// GeoJSON (data-src). County names go into tooltips as text (map-text.js). The ranked table
// on the page holds the same figures without JavaScript.
(function () {
  "use strict";
  var el = document.getElementById("sites-map");
  if (!el || typeof L === "undefined" || !window.govshareText) { return; }
  // The page's legend and these shades are one list (sites.pages.MAP_SHADES, lightest first).
  var shades = (el.getAttribute("data-shades") || "#00687d").split(",");
  var map = L.map(el, { zoomSnap: 0.25 });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Boundaries: U.S. Census Bureau (us-atlas)");
  fetch(el.getAttribute("data-src"), { headers: { Accept: "application/geo+json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) {
          var p = f.properties, k = Math.min(shades.length - 1, Math.floor(p.score * shades.length));
          return { color: p.baseline ? "#1b1b1b" : "#565c65", weight: p.baseline ? 3 : 0.5,
                   fillColor: shades[k], fillOpacity: 0.85 };
        },
        onEachFeature: function (f, lyr) {
          var p = f.properties;
          var text = p.name + ": rank " + p.rank + ", score " + p.score.toFixed(3) +
            ", savings $" + Math.round(p.savings).toLocaleString("en-US") + " a year" +
            (p.distress === null ? "" : ", distress " + p.distress.toFixed(1)) +
            (p.baseline ? " (baseline)" : "");
          lyr.bindTooltip(govshareText(text));
        }
      }).addTo(map);
      var b = layer.getBounds();
      if (b.isValid()) { map.fitBounds(b, { padding: [10, 10] }); }
      el.setAttribute("data-features", String(data.features.length));
      el.setAttribute("data-ready", "true");
    })
    .catch(function (err) {
      el.setAttribute("data-error", String(err));
      el.textContent = "The map could not be loaded. The candidates are ranked in the table below.";
    });
})();
