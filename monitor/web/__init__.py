"""The HTTP endpoints served by ``monitor run``: ``/healthz`` and ``/metrics``."""


from monitor.web.metrics import Metrics
from monitor.web.server import OpsServer, service_health

__all__ = [
    "Metrics",
    "OpsServer",
    "service_health",
]
