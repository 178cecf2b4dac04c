// "What applies to me here": a click on the map fills the coordinate form and submits it, and
// the point a result was found for is marked. The member boundaries (data-boundaries, the same
// feed the region map draws) are drawn for orientation only, so a click anywhere reaches the
// map; no base tiles, so it works offline. The page is complete without this script: the map
// section stays hidden and the ZIP code and coordinate forms do the same.
(function () {
  "use strict";
  var el = document.getElementById("here-map");
  var form = document.getElementById("here-point-form");
  if (!el || !form || typeof L === "undefined" || !window.govshareText) { return; }
  var colours = {
    state: "#8d8d8d", county: "#00bde3", city: "#e66f0e", school_district: "#00a91c",
    special_district: "#8168b3", federal_agency: "#d83933"
  };
  var section = document.getElementById("here-map-section");
  if (section) { section.hidden = false; }  // before L.map: a hidden map has no size

  var map = L.map(el, { zoomSnap: 0.25 });
  if (window.govshareTiles) { window.govshareTiles(map, el); }
  map.attributionControl.setPrefix(false);
  L.DomUtil.addClass(map.getContainer(), "leaflet-crosshair");

  var point = null;
  var lon = parseFloat(el.getAttribute("data-lon"));
  var lat = parseFloat(el.getAttribute("data-lat"));
  if (isFinite(lon) && isFinite(lat)) {
    point = L.latLng(lat, lon);
    L.circleMarker(point, {
      radius: 8, color: "#1b1b1b", weight: 2, fillColor: "#d83933", fillOpacity: 0.9,
      className: "gs-here-point"
    }).bindTooltip(govshareText(el.getAttribute("data-point-label") || "Place used")).addTo(map);
  }

  map.on("click", function (e) {
    var at = e.latlng.wrap();
    form.elements.namedItem("lon").value = at.lng.toFixed(5);
    form.elements.namedItem("lat").value = at.lat.toFixed(5);
    el.setAttribute("data-clicked", at.lng.toFixed(5) + "," + at.lat.toFixed(5));
    if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.submit(); }
  });

  fetch(el.getAttribute("data-boundaries"), { headers: { Accept: "application/geo+json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      map.attributionControl.addAttribution("Boundaries: U.S. Census Bureau; City of Seattle");
      var focus = data.features.filter(function (f) { return f.properties.kind !== "state"; });
      L.geoJSON(data, {
        interactive: false,
        style: function (f) {
          var kind = f.properties.kind, c = colours[kind] || "#1b1b1b";
          var district = kind === "school_district" || kind === "special_district";
          return { color: c, weight: 2, dashArray: district ? "8 6" : null,
                   fillColor: c, fillOpacity: kind === "state" ? 0.02 : 0.06,
                   className: "gs-boundary gs-boundary--" + kind };
        }
      }).addTo(map);
      var bounds = L.geoJSON({ type: "FeatureCollection", features: focus.length ? focus : data.features }).getBounds();
      if (point) { bounds = bounds.isValid() ? bounds.extend(point) : L.latLngBounds(point, point); }
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10] }); } else { map.setView([0, 0], 1); }
      el.setAttribute("data-ready", "true");
    })
    .catch(function (err) {
      el.setAttribute("data-error", String(err));
      if (point) { map.setView(point, 12); } else { map.setView([0, 0], 1); }
      var note = document.getElementById("here-map-note");
      if (note) { note.textContent = "The boundaries could not be loaded; a click still chooses a point, or use the forms above."; }
    });
})();
