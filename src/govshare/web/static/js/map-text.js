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
