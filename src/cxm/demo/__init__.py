"""The demo company: a Polish telecom with a year of multichannel history and known truth."""

from __future__ import annotations

from cxm.demo.build import (
    DemoResult,
    build_demo,
    demo_is_built,
    do_issue_demo_token,
    reset_workspace,
)

__all__ = ["DemoResult", "build_demo", "demo_is_built", "do_issue_demo_token", "reset_workspace"]
