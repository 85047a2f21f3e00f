"""The v2 REST API: paste factories, routing, controllers and middleware."""
