"""Ports: one ``typing.Protocol`` per capability. Adapters implement them; services use them."""

from ghostart.ports.billing import Billing
from ghostart.ports.broadcast import Broadcast
from ghostart.ports.cache import Cache
from ghostart.ports.clock import Clock
from ghostart.ports.generator import Generator
from ghostart.ports.lock import Lock
from ghostart.ports.mailer import Email, Mailer
from ghostart.ports.monitor import Monitor
from ghostart.ports.publisher import Publication, Publisher, PublishRequest
from ghostart.ports.queue import BatchQueue, Delivery, Queue
from ghostart.ports.ratelimit import RateDecision, RateLimiter
from ghostart.ports.store import Store, UnitOfWork

__all__ = [
    "BatchQueue",
    "Billing",
    "Broadcast",
    "Cache",
    "Clock",
    "Delivery",
    "Email",
    "Generator",
    "Lock",
    "Mailer",
    "Monitor",
    "Publication",
    "PublishRequest",
    "Publisher",
    "Queue",
    "RateDecision",
    "RateLimiter",
    "Store",
    "UnitOfWork",
]
