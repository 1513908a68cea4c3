"""Browse: every lokstra-auth entity, paged from the stores (see console/browse for the logic)."""
from console.screens.browse.screen import BrowseScreen

__all__ = ["BrowseScreen"]
