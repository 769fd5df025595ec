// Starts Swagger UI on the app's own OpenAPI document (kept out of the page: CSP).
"use strict";
const root = document.getElementById("swagger");
window.SwaggerUIBundle({ url: root.dataset.spec, domNode: root, deepLinking: true });
