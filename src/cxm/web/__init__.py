"""The web UI: server-rendered pages (Jinja2 + htmx + ECharts) over the customer memory.

Example::

    app = FastAPI()
    app.state.workspace = workspace
    mount_web(app)
"""

from __future__ import annotations

from cxm.web.rendering import render_template, templates_env
from cxm.web.routes import mount_web

__all__ = ["mount_web", "render_template", "templates_env"]
