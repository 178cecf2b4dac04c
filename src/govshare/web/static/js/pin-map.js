// The report form's map: a click or tap puts a pin and fills the form's latitude and
// longitude fields (it does not submit). The member boundaries are drawn for orientation.
// Without JavaScript the section stays hidden and the address and coordinate fields do the
// same.
(function () {
  "use strict";
  var el = document.getElementById("pin-map");
  var form = document.getElementById("request-form");
  if (!el || !form || typeof L === "undefined" || !window.govshareText) { return; }
  var section = document.getElementById("pin-map-section");
  if (section) { section.hidden = false; }
  var map = L.map(el, { zoomSnap: 0.25 });
  if (window.govshareTiles) { window.govshareTiles(map, el); }
  map.attributionControl.setPrefix(false);
  L.DomUtil.addClass(map.getContainer(), "leaflet-crosshair");
  var pin = null;
  function place(latlng) {
    if (pin) { pin.setLatLng(latlng); } else {
      pin = L.circleMarker(latlng, {
        radius: 8, color: "#1b1b1b", weight: 2, fillColor: "#d83933", fillOpacity: 0.9,
        className: "gs-pin"
      }).bindTooltip(govshareText("Your pin")).addTo(map);
    }
  }
  var lon = parseFloat(el.getAttribute("data-lon"));
  var lat = parseFloat(el.getAttribute("data-lat"));
  var start = isFinite(lon) && isFinite(lat) ? L.latLng(lat, lon) : null;
  if (start) { place(start); }
  map.on("click", function (e) {
    var at = e.latlng.wrap();
    form.elements.namedItem("lon").value = at.lng.toFixed(6);
    form.elements.namedItem("lat").value = at.lat.toFixed(6);
    place(at);
    el.setAttribute("data-pinned", at.lng.toFixed(6) + "," + at.lat.toFixed(6));
  });
  fetch(el.getAttribute("data-boundaries"), { headers: { Accept: "application/geo+json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      map.attributionControl.addAttribution("Boundaries: U.S. Census Bureau; City of Seattle");
      var focus = data.features.filter(function (f) { return f.properties.kind === "city"; });
      L.geoJSON(data, {
        interactive: false,
        style: function (f) {
          return { color: "#565c65", weight: 1.5, fillOpacity: f.properties.kind === "state" ? 0 : 0.04 };
        }
      }).addTo(map);
      if (start) { map.setView(start, 16); } else {
        var b = L.geoJSON({ type: "FeatureCollection", features: focus.length ? focus : data.features }).getBounds();
        if (b.isValid()) { map.fitBounds(b, { padding: [10, 10] }); } else { map.setView([0, 0], 1); }
      }
      el.setAttribute("data-ready", "true");
    })
    .catch(function (err) {
      el.setAttribute("data-error", String(err));
      if (start) { map.setView(start, 16); } else { map.setView([0, 0], 1); }
    });
})();
