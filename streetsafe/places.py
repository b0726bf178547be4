"""A store's place index, for naming hexagons in views and exports ("near Derby Road")."""

from __future__ import annotations

import threading
from collections import OrderedDict

from geo.places import PlaceIndex
from store import Store

_CACHE_SIZE = 4
_cache: OrderedDict[tuple[str, tuple[int, ...]], PlaceIndex] = OrderedDict()
_cache_lock = threading.Lock()


def place_index(store: Store) -> PlaceIndex:
    """Return the place index of ``store``'s public street names (see geo/places.py).

    Built once per data version and kept: the places change only when a file is ingested,
    and a dashboard names hexagons on every rerun.
    """
    key = (store.url, store.data_version())
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    index = PlaceIndex(store.places())
    with _cache_lock:
        _cache[key] = index
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return index
