"""The product catalog: Chroma-backed index, embedder, real-time updates, hybrid search."""

from retrieval.index import ApplyReport, ProductIndex
from retrieval.memory import InMemoryIndex
from retrieval.product import Availability, Product
from retrieval.search import FusionConfig, Hit, SearchFilters

__all__ = [
    "ApplyReport",
    "Availability",
    "FusionConfig",
    "Hit",
    "InMemoryIndex",
    "Product",
    "ProductIndex",
    "SearchFilters",
]
