// Draws the member jurisdictions' boundaries on a Leaflet map. Works offline: no base tiles,
// only the region's own GeoJSON (fetched from the API named in data-src). The page is complete
// without this script: the members table below the map carries the same information.
(function () {
  "use strict";
  var el = document.getElementById("region-map");
  if (!el || typeof L === "undefined" || !window.govshareText) { return; }
  var colours = {
    state: "#8d8d8d", county: "#00bde3", city: "#e66f0e", school_district: "#00a91c",
    special_district: "#8168b3", federal_agency: "#d83933"
  };
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: true });
  if (window.govshareTiles) { window.govshareTiles(map, el); }
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Boundaries: U.S. Census Bureau; City of Seattle");
  fetch(el.getAttribute("data-src"), { headers: { Accept: "application/geo+json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      // Larger areas first, so smaller ones are drawn on top: otherwise a county-wide district
      // drawn last covers the city, and the city's tooltip can never be reached.
      var size = function (f) {
        var b = L.geoJSON(f).getBounds();
        return b.isValid() ? (b.getEast() - b.getWest()) * (b.getNorth() - b.getSouth()) : 0;
      };
      data.features = data.features
        .map(function (f, i) { return { f: f, size: size(f), i: i }; })
        .sort(function (a, b) { return (b.size - a.size) || (a.i - b.i); })
        .map(function (item) { return item.f; });
      var layer = L.geoJSON(data, {
        style: function (f) {
          var kind = f.properties.kind, c = colours[kind] || "#1b1b1b";
          // Districts often share a general government's boundary (the school district is
          // the city's area, the port the county's): a dashed, lightly filled outline lets
          // both show instead of one hiding the other.
          var district = kind === "school_district" || kind === "special_district";
          return { color: c, weight: district ? 3 : 2, dashArray: district ? "8 6" : null,
                   fillColor: c, fillOpacity: kind === "state" ? 0.05 : (district ? 0.08 : 0.2) };
        },
        onEachFeature: function (f, lyr) {
          lyr.bindTooltip(govshareText(f.properties.name + " (" + f.properties.kind_label + ")"));
        }
      }).addTo(map);
      var focus = data.features.filter(function (f) { return f.properties.kind !== "state"; });
      var bounds = focus.length ? L.geoJSON({ type: "FeatureCollection", features: focus }).getBounds() : layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10] }); }
      el.setAttribute("data-features", String(data.features.length));
      el.setAttribute("data-ready", "true");
    })
    .catch(function (err) {
      el.setAttribute("data-error", String(err));
      el.textContent = "The map could not be loaded. The members are listed below.";
    });
})();
