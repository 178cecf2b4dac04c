// The API explorer: Swagger UI (npm swagger-ui-dist, served from /static/vendor) on the
// OpenAPI document. A file, not an inline script, so the page's CSP needs no 'unsafe-inline'
// for scripts.
//
// Our own layout draws only the operations: Swagger UI's BaseLayout would add a second h1
// (the API's title) and its own <main> inside the page's <main>, which screen readers and
// axe-core count as two main landmarks.
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  if (!el || typeof window.SwaggerUIBundle !== "function") { return; }
  function layoutPlugin(system) {
    var h = system.React.createElement;
    return {
      components: {
        GovshareLayout: function (props) {
          var Operations = props.getComponent("operations", true);
          var Errors = props.getComponent("errors", true);
          return h("div", { className: "swagger-ui" },
            h("div", { className: "wrapper" }, h(Errors, null), h(Operations, null)));
        }
      }
    };
  }
  window.SwaggerUIBundle({
    url: el.getAttribute("data-openapi"),
    domNode: el,
    deepLinking: false,
    validatorUrl: null,  // the validator badge calls a remote site
    presets: [window.SwaggerUIBundle.presets.apis],
    plugins: [layoutPlugin],
    layout: "GovshareLayout"
  });
})();
