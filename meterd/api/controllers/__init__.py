"""One controller per collection of the v2 API."""
