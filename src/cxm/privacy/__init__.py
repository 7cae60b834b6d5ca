"""Personal data handled lawfully: export and erasure of one person's data across every copy
(store, lake, texts, vectors, scores, audit details), tombstones that keep an erased person from
being recreated by old events, and the records that prove it (``docs/privacy.md``)."""

from __future__ import annotations

from cxm.privacy.erasure import ErasureReport, do_erase, find_traces
from cxm.privacy.service import do_export
from cxm.privacy.subject import Subject, find_subject

__all__ = ["ErasureReport", "Subject", "do_erase", "do_export", "find_subject", "find_traces"]
