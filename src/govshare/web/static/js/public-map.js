// Public window map: a marker for each listed asset with a published location, its popup
// naming the asset and linking to its page (built as DOM nodes: names are text, never HTML).
// The features come from the page's GeoJSON feed (data-src) or, on an asset's page, from the
// page's own JSON block (data-feature names its id). Member boundaries
// (data-boundaries) are drawn faintly for orientation; no base tiles, so it works offline.
// The page is complete without this script: the table lists the same assets.
(function () {
  "use strict";
  var el = document.getElementById("public-map");
  if (!el || typeof L === "undefined") { return; }

  function get(url) {
    return fetch(url, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }
  function popup(f) {
    var box = document.createElement("div");
    var a = document.createElement("a");
    a.href = "/property/public/" + encodeURIComponent(f.id);
    a.textContent = f.properties.name;
    var p = document.createElement("p");
    p.textContent = [f.properties.use_label, f.properties.status_label]
      .filter(Boolean).join(" · ");
    box.appendChild(a);
    box.appendChild(p);
    return box;
  }

  var inline = document.getElementById(el.getAttribute("data-feature") || "");
  var assets = inline ? Promise.resolve(JSON.parse(inline.textContent))
    : get(el.getAttribute("data-src"));
  var src = el.getAttribute("data-boundaries");
  var context = src ? get(src).catch(function () { return null; }) : Promise.resolve(null);
  var map = L.map(el, { zoomSnap: 0.25 });
  if (window.govshareTiles) { window.govshareTiles(map, el); }
  map.attributionControl.setPrefix(false);

  Promise.all([assets, context]).then(function (res) {
    var data = res[0].type === "Feature" ? { type: "FeatureCollection", features: [res[0]] } : res[0];
    var outline = null;
    if (res[1]) {
      map.attributionControl.addAttribution("Boundaries: U.S. Census Bureau; City of Seattle");
      outline = L.geoJSON(res[1], {
        filter: function (f) { return f.properties.kind !== "state"; },
        style: { color: "#71767a", weight: 1, fillOpacity: 0.03 }, interactive: false
      }).addTo(map);
    }
    var markers = data.features.filter(function (f) {
      return f.geometry && f.geometry.type === "Point";
    }).map(function (f) {
      var c = f.geometry.coordinates;
      var label = f.properties.name + (f.properties.status_label ? " (" + f.properties.status_label + ")" : "");
      // Idle property is what the window is for: drawn on top; in-use property pale.
      var idle = f.properties.status !== "in_use";
      return L.marker([c[1], c[0]], {
        title: label, alt: label, opacity: idle ? 1 : 0.55, zIndexOffset: idle ? 1000 : 0
      }).bindPopup(popup(f));
    });
    var group = L.featureGroup(markers).addTo(map);
    if (markers.length === 1) {
      map.setView(markers[0].getLatLng(), 13);
    } else if (markers.length) {
      map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 15 });
    } else if (outline && outline.getBounds().isValid()) {
      map.fitBounds(outline.getBounds());
    } else {
      map.setView([0, 0], 1);
    }
    el.setAttribute("data-markers", String(markers.length));
    el.setAttribute("data-ready", "true");
  }).catch(function (err) {
    el.setAttribute("data-error", String(err));
    el.textContent = "The map could not be loaded. The assets are listed on this page.";
  });
})();
