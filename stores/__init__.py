"""The async store layer of lokstra-console: no UI here (never import textual).

``stores = await open_stores(settings)`` gives the six stores on the backend the settings
choose (memory by default, PostgreSQL with ``USE_POSTGRES=true``).
"""
from stores.open import Stores, open_stores
from stores.settings import Settings

__all__ = ["Settings", "Stores", "open_stores"]
