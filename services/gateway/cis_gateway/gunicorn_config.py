"""gunicorn settings for the gateway: `gunicorn -c python:cis_gateway.gunicorn_config`.

Threaded workers (gthread): a request waits on RPC replies, not the CPU, and rpc_client keeps one
nameko proxy per thread. Each worker prints READY once its app is loaded, so the suite runner knows
the gateway answers (cis_runtime.suite).
"""
import os
import sys

from cis_runtime import config as cis_config  # not "config": gunicorn reads every name here as a setting

wsgi_app = "cis_gateway.web:app_from_environment()"
bind = [cis_config.gateway_bind()]
worker_class = "gthread"
workers = int(cis_config.env("CIS_GATEWAY_WORKERS", "2"))
threads = int(cis_config.env("CIS_GATEWAY_THREADS", "8"))
# The worker's main thread heartbeats while request threads wait on RPC; a request itself is bounded by
# the RPC deadline (CIS_RPC_TIMEOUT), so the worker timeout only catches a hung process.
timeout = 60
graceful_timeout = 20
accesslog = None  # requests are in the audit log; an access log would repeat account ids and paths
errorlog = "-"
loglevel = cis_config.env("CIS_LOG_LEVEL", "info").lower()
proc_name = "cis-gateway"


def on_starting(server):
    """In the master, once, before any worker forks: the deploy's bootstrap API token (cis_gateway.admin)."""
    from cis_gateway.admin import bootstrap_token_from_environment, store

    target = store()
    bootstrap_token_from_environment(target)
    target.engine.dispose()  # no connection of the master's may leak into the forked workers


def post_worker_init(worker):
    from cis_runtime import logs

    logs.configure(loglevel.upper())  # the app's own log lines: one line per refusal, values cut
    try:
        print(f"READY gateway (worker {os.getpid()})", flush=True)
    except (BrokenPipeError, ValueError, OSError):  # the runner stops reading after the first READY
        pass
    try:
        sys.stdout = open(os.devnull, "w")
    except OSError:
        pass
