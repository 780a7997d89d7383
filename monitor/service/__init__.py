"""The composition root (``App`` builds every object from settings and config) and the
long-running service that wires time to work.
"""

from monitor.service.app import App, build_app, similarity_for
from monitor.service.runner import InstanceLock, Service

__all__ = [
    "App",
    "InstanceLock",
    "Service",
    "build_app",
    "similarity_for",
]
