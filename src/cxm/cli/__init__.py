"""The ``cxm`` command line."""

from __future__ import annotations

from cxm.cli.app import app, main

__all__ = ["app", "main"]
