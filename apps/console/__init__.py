"""The web console's static shell (plain HTML, ES modules and CSS in `static/`, no build step) and the vendored
Swagger UI (`static/vendor/swagger-ui/`). The backend serves them at /console and /docs
(`apps.backend.api.console`); nothing here runs on the server."""
