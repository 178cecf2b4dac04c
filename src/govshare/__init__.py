"""govshare: a platform on which a region's governments run shared services together.

Packages follow the project's design: one package per domain (``regions``, ``geo``, ...), each
with the same file names, and ``core`` beneath them all. See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
