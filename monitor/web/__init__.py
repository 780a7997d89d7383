"""The HTTP side of ``monitor run``: ``/healthz``, ``/metrics`` and the web console, on uvicorn.

Public surface::

    OpsServer(address, metrics, health, console=None)   # start() / stop(); raises ListenError
    Console(engine, rules, clock, ops, token)           # what the console pages read
    build_app(metrics, health, console, exposed=...)     # the ASGI app itself (tests, benchmarks)
    Metrics, service_health, is_loopback
"""


from monitor.web.app import CSP, Console, build_app
from monitor.web.metrics import Metrics
from monitor.web.server import OpsServer, is_loopback, service_health

__all__ = [
    "CSP",
    "Console",
    "Metrics",
    "OpsServer",
    "build_app",
    "is_loopback",
    "service_health",
]
