"""Reports, in layers that import downward only.

``formatting`` (how numbers read; imports nothing of the package) and ``progress`` at the bottom; ``figures``
(the numbers the reports show, computed apart from rendering); the renderers ``plots``, ``html``, ``markdown``
and ``terminal``; and ``write``, which writes a run folder's files and which only the pipeline imports.
"""
