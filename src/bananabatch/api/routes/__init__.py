"""Thin routers: parse the request, call a service or query, shape the answer."""
