"""The exceptions people see. Each carries the exit code the CLI should return.

Messages say where, what, and what was expected, on one line, so the CLI can print
them as ``error: <message>`` without a traceback.
"""

from __future__ import annotations

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


class PolicyError(RouteEvalError):
    """A policy file that cannot be loaded or trusted."""


class ProviderError(RouteEvalError):
    """A provider or runtime failure that stopped the work."""

    exit_code = EXIT_PROVIDER
