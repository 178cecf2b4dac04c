// Text for a Leaflet tooltip or popup. Leaflet puts a string content in as HTML, and the
// names on our maps come from members, imports and the public: every one goes in as text,
// through this, so a name like "<img onerror=...>" shows as those characters.
(function () {
  "use strict";
  window.govshareText = function (text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  };
})();

// Street tiles, when the installation sets a tile server (GOVSHARE_MAP_TILE_URL): the map's
// element carries data-tiles and data-tiles-attribution ({{ map_tiles() }} in a template).
// Without them nothing is fetched and the map stays offline.
(function () {
  "use strict";
  window.govshareTiles = function (map, el) {
    var url = el.getAttribute("data-tiles");
    if (!url || typeof L === "undefined") { return false; }
    L.tileLayer(url, {
      maxZoom: 19, attribution: el.getAttribute("data-tiles-attribution") || ""
    }).addTo(map);
    return true;
  };
})();
