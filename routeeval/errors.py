"""The exceptions people see. Each carries the exit code the CLI should return.

Messages say where, what, and what was expected, on one line, so the CLI can print
them as ``error: <message>`` without a traceback.

:class:`PolicyError` is also the runtime's :class:`routeeval.runtime.PolicyError` (the one import from
routeeval here; the runtime imports nothing of routeeval), so ``except routeeval.runtime.PolicyError``
catches a bad policy from every entry point: the runtime's ``Router.load``, :mod:`routeeval.policy` and the
commands built on it.
"""

from __future__ import annotations

from routeeval.runtime import PolicyError as RuntimePolicyError

EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_PROVIDER = 3


class RouteEvalError(Exception):
    """Base class: a problem the user can fix, reported as one line."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DataError(RouteEvalError):
    """Bad input data. Names the file, the line (or row) and the field when known."""

    def __init__(
        self,
        path: str,
        problem: str,
        *,
        line: int | None = None,
        field: str | None = None,
        row_word: str = "line",
    ) -> None:
        where = str(path)
        if line is not None:
            where += f" {row_word} {line}"
        if field is not None:
            problem = f"field '{field}' {problem}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.line = line
        self.field = field


class ConfigError(RouteEvalError):
    """A problem in routeeval.toml or in command-line options."""


class PolicyError(RouteEvalError, RuntimePolicyError):
    """A policy file that cannot be loaded or trusted: exit code 2 for the CLI, and a
    :class:`routeeval.runtime.PolicyError` (so also a ValueError) for code that loads policies."""


class ProviderError(RouteEvalError):
    """A provider or runtime failure that stopped the work."""

    exit_code = EXIT_PROVIDER
