"""The in-memory backend: the embedded default, with demo data."""
from stores.memory.engine import MemoryEngine

__all__ = ["MemoryEngine"]
