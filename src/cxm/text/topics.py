"""Topics: themes discovered across languages, named by keyphrases, kept by the people who
curate them.

Multilingual encoders place texts in one space, but each language still sits in its own
corner of it (a Polish and a Russian complaint about the same bill are closer to other texts
in their language than a shared theme alone would make them). Subtracting each language's mean
vector ("language centring") removes that offset, so clusters form by theme. The means are part
of the topic model (:class:`TopicSpace`) and new texts are centred the same way before they are
assigned to the nearest topic.

Discovery is k-means on the centred vectors; the number of topics is chosen by the silhouette
score unless given. Rediscovery keeps what people did: a new cluster close to an existing topic
(cosine ≥ ``KEEP_SIMILARITY``) keeps its id and name, pinned topics are never dropped, and
merged topics stay merged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxm.errors import InvalidInput

# A text joins the nearest topic only if its centred vector is at least this close to it.
MIN_SIMILARITY = 0.25
KEEP_SIMILARITY = 0.8
MIN_LANGUAGE_TEXTS = 10


@dataclass
class TopicSpace:
    """Per-language mean vectors; ``*`` is the mean of every text (for other languages)."""

    means: dict[str, np.ndarray]

    def centre(self, vectors: np.ndarray, languages: list[str]) -> np.ndarray:
        out = np.empty_like(vectors)
        fallback = self.means.get("*", np.zeros(vectors.shape[1], dtype=np.float32))
        for i, (v, lang) in enumerate(zip(vectors, languages, strict=True)):
            out[i] = v - self.means.get(lang, fallback)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def to_json(self) -> dict[str, list[float]]:
        return {k: [round(float(x), 6) for x in v] for k, v in self.means.items()}

    @classmethod
    def from_json(cls, data: dict[str, list[float]]) -> TopicSpace:
        return cls({k: np.asarray(v, dtype=np.float32) for k, v in data.items()})


def fit_space(vectors: np.ndarray, languages: list[str]) -> TopicSpace:
    means = {"*": vectors.mean(axis=0)}
    langs = np.asarray(languages)
    for lang in sorted(set(languages)):
        mask = langs == lang
        if mask.sum() >= MIN_LANGUAGE_TEXTS:
            means[lang] = vectors[mask].mean(axis=0)
    return TopicSpace({k: v.astype(np.float32) for k, v in means.items()})


@dataclass
class Clustering:
    labels: np.ndarray  # cluster of each text
    centroids: np.ndarray  # unit vectors in the centred space
    silhouette: float


def cluster(
    centred: np.ndarray,
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (4, 30),
    seed: int = 7,
    sample: int = 4000,
) -> Clustering:
    """k-means on centred unit vectors; ``k`` by the best silhouette in ``k_range`` if not given."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(centred)
    if n < 10:
        raise InvalidInput(f"topic discovery needs at least 10 analysed texts; there are {n}")
    rng = np.random.default_rng(seed)
    probe = centred[rng.choice(n, size=min(n, sample), replace=False)]
    if k is None:
        lo, hi = k_range
        hi = max(lo, min(hi, len(probe) // 10))
        best: tuple[float, int] | None = None
        for kk in range(lo, hi + 1):
            labels = KMeans(n_clusters=kk, n_init=3, random_state=seed).fit_predict(probe)
            if len(set(labels.tolist())) < 2:
                continue
            score = float(silhouette_score(probe, labels, metric="cosine"))
            if best is None or score > best[0]:
                best = (score, kk)
        k = best[1] if best else lo
    if k < 1 or k > n:
        raise InvalidInput(f"asked for {k} topics among {n} texts; choose 1 to {n}")
    model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(centred)
    centroids = model.cluster_centers_
    centroids = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
    labels = model.labels_
    sil = (
        float(silhouette_score(probe, model.predict(probe), metric="cosine"))
        if 1 < k < len(probe)
        else 0.0
    )
    return Clustering(labels=labels, centroids=centroids.astype(np.float32), silhouette=sil)


def assign(
    centred: np.ndarray, topic_ids: list[int], centroids: np.ndarray
) -> tuple[list[int | None], list[float | None]]:
    """The nearest topic of each centred vector, or None below ``MIN_SIMILARITY``."""
    if not topic_ids or len(centred) == 0:
        return [None] * len(centred), [None] * len(centred)
    sims = centred @ centroids.T
    best = sims.argmax(axis=1)
    ids: list[int | None] = []
    scores: list[float | None] = []
    for row, b in zip(sims, best, strict=True):
        s = float(row[b])
        ids.append(topic_ids[b] if s >= MIN_SIMILARITY else None)
        scores.append(round(s, 4))
    return ids, scores


def match_to_existing(new: np.ndarray, old_ids: list[int], old: np.ndarray) -> dict[int, int]:
    """New cluster index -> existing topic id, greedily by similarity (≥ KEEP_SIMILARITY)."""
    if not old_ids or len(new) == 0:
        return {}
    sims = new @ old.T
    pairs = sorted(
        ((float(sims[i, j]), i, j) for i in range(len(new)) for j in range(len(old_ids))),
        reverse=True,
    )
    out: dict[int, int] = {}
    used: set[int] = set()
    for s, i, j in pairs:
        if s < KEEP_SIMILARITY:
            break
        if i in out or j in used:
            continue
        out[i] = old_ids[j]
        used.add(j)
    return out
