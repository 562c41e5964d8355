"""Benchmarks for DESIGN.md section 8: run ``python -m bench`` (see ``bench/__main__.py``)."""
