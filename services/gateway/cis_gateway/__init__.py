"""Gateway: staff web pages and the HTTP JSON API; it owns no data and forwards to the services by RPC."""
