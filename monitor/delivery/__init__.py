"""The outbox (claim, send, mark alerts; pacing, storm guard, follow-ups) and ops notices."""


from monitor.delivery.ops import report_feed_health
from monitor.delivery.outbox import Deliverer, DeliveryOptions, DeliverySummary

__all__ = [
    "Deliverer",
    "DeliveryOptions",
    "DeliverySummary",
    "report_feed_health",
]
