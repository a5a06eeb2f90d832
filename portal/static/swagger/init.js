// Starts Swagger UI on /api/docs (kept out of the page: the CSP allows no inline script).
window.addEventListener("DOMContentLoaded", function () {
  var container = document.getElementById("swagger-container");
  SwaggerUIBundle({
    url: container.dataset.specUrl,
    dom_id: "#swagger-container",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
