"""Benchmarks comparing hypha_arrow's hybrid frames with stock hypha-rpc and baselines.

Run ``python -m benchmarks.codec --help`` from the repository root.
"""
