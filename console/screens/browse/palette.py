"""Command palette provider: find a tenant, app or user by name and go there."""
from __future__ import annotations

from functools import partial

from textual.command import Hit, Hits, Provider

from console.browse.search import find_entities
from console.text import markup_escaped, palette_match
from stores.errors import StoreError


class EntityCommands(Provider):
    async def search(self, query: str) -> Hits:
        stores = getattr(self.app, "stores", None)
        screen = self.screen
        go = getattr(screen, "go_to_path", None)
        if stores is None or go is None or len(query.strip()) < 2:
            return
        try:
            found = await find_entities(stores, query)
        except StoreError:
            return
        matcher = self.matcher(query)
        for item in found:
            text = f"{item.kind} {item.text}"
            score = max(matcher.match(item.text), 0.5)
            yield Hit(score, palette_match(matcher, text), partial(go, item.path), text=text,
                      help=markup_escaped(item.detail))
