"""Registries instead of if-chains: functions filed under the kinds they handle, each kind at most once."""

from __future__ import annotations

from typing import Callable


def registrar(table: dict, what: str) -> Callable:
    """A decorator factory: `@registers(kind, ...)` files the function in `table` under each kind; a kind registered
    twice is refused (`what` names the table in the error)."""

    def registers(*kinds) -> Callable:
        def register(function: Callable) -> Callable:
            for kind in kinds:
                if kind in table:
                    raise RuntimeError(f"{what} {getattr(kind, '__name__', kind)} is registered twice")
                table[kind] = function
            return function

        return register

    return registers
