// The API's viewer: Swagger UI (vendored) on the description this server generates. No request leaves this site:
// the validator badge, which would send the description to swagger.io, is off.
(function () {
  "use strict";
  var holder = document.getElementById("api-viewer");
  if (!holder || typeof window.SwaggerUIBundle !== "function") { return; }
  holder.textContent = "";
  window.SwaggerUIBundle({
    url: holder.getAttribute("data-spec-url"),
    domNode: holder,
    validatorUrl: null,
    deepLinking: true,
    tryItOutEnabled: false,
    persistAuthorization: false
  });
}());
