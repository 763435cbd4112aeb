"""The demo data set (fictional bank customers, insurance policies and claims) the shipped tools work on.

``seed_demo_data(redis)`` writes it to Redis (idempotent, safe for concurrent replicas); ``dataset.py``
holds the data and a tester's cheat sheet; ``store.py`` documents the Redis key schema.
"""

from registries.toolstore.demo.dataset import DATASET_VERSION, DemoDataset, demo_dataset
from registries.toolstore.demo.store import seed_demo_data

__all__ = ["DATASET_VERSION", "DemoDataset", "demo_dataset", "seed_demo_data"]
