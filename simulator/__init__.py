"""Core-banking simulator: realistic customers, assets and card spend, published to Kafka;
and the partners (`partners.py`): signed lounge visits and offer redemptions at the rewards
API for the simulated members.

Generation is pure and reproducible from a seed (`generate_batch`, `LiveSimulation`,
`partners.choose`); only `publisher`, `partners.PartnerTraffic` and `__main__` do I/O.
"""

from .batch import Batch, generate_batch
from .live import LiveSimulation
from .publisher import make_producer, publish

__all__ = ["Batch", "LiveSimulation", "generate_batch", "make_producer", "publish"]
