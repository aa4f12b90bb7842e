"""Easy/hard labeling of a sample of production queries: ``routeeval sample``, ``label`` and ``estimate``.

``sample`` draws a seeded, optionally stratified and deduplicated sample of log rows into a sample file (a
provenance header, then one row per query); ``label`` is a keyboard labeler appending each decision to a labels
file (:mod:`routeeval.labeling.labels`, append-only, flushed at once); ``estimate`` turns labels into the easy
share with its interval, agreement between labelers, and the saving routing would bring.
"""
