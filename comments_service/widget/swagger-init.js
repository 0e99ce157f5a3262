/* Swagger UI's start-up for /schema/swagger, served from this origin so that page runs no inline script. */
window.ui = SwaggerUIBundle({
  url: '/schema/openapi.json',
  dom_id: '#swagger-container',
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
