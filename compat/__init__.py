"""Compatibility runs: hypha_arrow against other hypha-rpc releases, and hypha-rpc's own tests under ``enable()``.

``python -m compat.matrix`` and ``python -m compat.upstream`` (see docs/compatibility.md). Each
run gets a fresh virtual environment, so nothing here changes the global environment.
"""
