"""Shared runtime of the suite. Everything here except `cis_runtime.edge` is free of nameko and eventlet."""
