// Swagger UI for /docs, from the files vendored in the repository (no CDN). "Authorize" takes the admin key
// (security scheme AdminKey, header X-API-Key); it is kept in this page only, never stored.
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  layout: "BaseLayout",
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
  showExtensions: true,
});
