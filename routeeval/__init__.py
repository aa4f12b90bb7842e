"""routeeval: measure what LLM routing saves, with confidence, and export the policy."""

__version__ = "0.1.0"
