"""Pages the backend serves itself (plain HTML, CSS and ES modules in the repository: no build, no CDN)."""
