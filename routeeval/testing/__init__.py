"""Test support that ships with routeeval: ``routeeval.testing.loopback`` is an OpenAI-compatible chat-completions
server on 127.0.0.1 with fault injection, for tests and benchmarks that go through litellm's real HTTP path.

Importing this package imports nothing else.
"""
