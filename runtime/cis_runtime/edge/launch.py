"""Start suite services as a process: `python -m cis_runtime.edge.launch billing [metering ...]`.

`--prepare` creates and migrates the services' databases (the gateway's too) and declares the broker
topology (every consumer queue with its retry and dead-letter queues), then exits;
run it before starting services so no event is published before its queue exists.
The gateway is not a nameko service: gunicorn serves it (cis_gateway.gunicorn_config).
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (must precede every other import)

import argparse  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402

from kombu import Connection  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from cis_runtime import config, db, logs  # noqa: E402
from cis_runtime.edge import remote_errors  # noqa: E402,F401
from cis_runtime.edge.consumers import ReliableHandler  # noqa: E402
from cis_runtime.topology import consumer_queues, declare, external_queues  # noqa: E402


def service_class(service: str):
    return importlib.import_module(f"cis_{service}.service").Service


def reliable_queues(cls) -> list:
    """Every consumer queue (with retry and dead-letter queues) a service class declares."""
    queues = []
    for method_name, method in inspect.getmembers(cls, inspect.isfunction):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ReliableHandler):
                queues += consumer_queues(f"{cls.name}.{method_name}", entrypoint.exchange_name,
                                          entrypoint.message_names)
    return queues


def prepare(services: list[str]) -> None:
    for service in services:
        if service in config.SERVICES_WITH_DATABASE:
            db.prepare_database(service)
    with Connection(config.amqp_uri()) as connection:
        for service in services:
            if service == config.GATEWAY:
                continue  # consumes nothing: it calls the services by RPC
            declare(connection.default_channel, reliable_queues(service_class(service)))
        declare(connection.default_channel, external_queues())


def run(services: list[str]) -> None:
    runner = ServiceRunner(config.nameko_config(services[0]))
    for service in services:
        runner.add_service(service_class(service))

    stopping = []

    def shutdown(signum, frame):
        # Ctrl-C reaches every process of the group and the suite runner sends SIGTERM too:
        # stop once, let later signals wait for it.
        if not stopping:
            stopping.append(signum)
            eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    logging.getLogger(__name__).info("started %s", ", ".join(services))
    print(f"READY {' '.join(services)}", flush=True)
    runner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="+", choices=config.SERVICES_WITH_DATABASE)
    parser.add_argument("--prepare", action="store_true", help="migrate databases, declare queues, exit")
    args = parser.parse_args()
    if not args.prepare and config.GATEWAY in args.services:
        parser.error("the gateway runs under gunicorn: gunicorn -c python:cis_gateway.gunicorn_config")
    logs.configure(config.env("CIS_LOG_LEVEL", "INFO"))
    if args.prepare:
        prepare(args.services)
    else:
        run(args.services)


if __name__ == "__main__":
    main()
