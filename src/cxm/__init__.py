"""cxm: one memory of each customer across all channels.

>>> import cxm
>>> ws = cxm.open("./cxm-data")   # doctest: +SKIP
"""

from __future__ import annotations

from cxm.config import Settings
from cxm.workspace import Workspace, open

__version__ = "0.1.0"
__all__ = ["Settings", "Workspace", "__version__", "open"]
