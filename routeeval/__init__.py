"""routeeval: measure what LLM routing saves, with confidence, and export the policy."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """``routeeval.__version__``: the installed distribution's version (pyproject.toml's), read from the package
    metadata on first use, so that importing routeeval (or its runtime) does not pay for importlib.metadata."""
    if name != "__version__":
        raise AttributeError(f"module 'routeeval' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("routeeval")
    except PackageNotFoundError:  # a source tree put on sys.path without installing it
        value = "0+unknown"
    globals()["__version__"] = value
    return value
