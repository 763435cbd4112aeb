"""The web console (/console) and offline Swagger UI (/docs), served from files in the repository."""
