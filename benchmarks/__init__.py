"""posteria against its peers (NumPyro, BlackJAX, PyMC, nutpie) on one suite of models.

Run ``python -m benchmarks.run --help``; the usage is in :mod:`benchmarks.run`.
This package imports nothing heavy at import time: each engine's worker
process imports only its own library.
"""
