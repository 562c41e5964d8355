"""Benchmarks for the budgets of docs/performance.md: run ``python -m bench`` (see ``bench/__main__.py``)."""
