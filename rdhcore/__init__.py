"""Cross-cutting pieces every rdh package may use: the error type, atomic writes, image I/O.

A leaf package: it imports nothing else from the project, so any package can import it.
"""
