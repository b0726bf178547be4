"""What both store engines provide underneath: statements, and transactions around them."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any


class EngineHooks(abc.ABC):
    """The engine's statements and transactions, which the store's tables are written with."""

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction around the block: committed when it ends, rolled back if it raises."""
        self._begin()
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        self._commit()

    @abc.abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def _begin(self) -> None: ...

    @abc.abstractmethod
    def _commit(self) -> None: ...

    @abc.abstractmethod
    def _rollback(self) -> None: ...
