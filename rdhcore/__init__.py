"""Cross-cutting pieces every rdh package may use: the error type, atomic writes, image I/O,
resizing, derived seeds, the progress protocol and the version.

A leaf package: it imports nothing else from the project, so any package can import it.
"""
__version__ = "0.1.0"
