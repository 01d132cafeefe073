"""Screening prioritisation: rank a review's unscreened records so relevant ones come first.

Pure code, no Django: the screening services give it texts and decisions and store what it
returns. scikit-learn enters the product through this module only.

How it ranks (the same settings for every review; chosen on three public benchmark reviews,
see docs/benchmarks.md):

- Features are fitted once per review on all its texts: TF-IDF of word unigrams and bigrams
  with sublinear term frequency, L2-normalised rows, kept sparse. Character n-grams are
  available (``char_ngrams=True``) but cost about ten times the training time for no steady
  gain. From ``BOUNDED_FROM`` records on, the same features are hashed instead
  (``HashedTfidf``): no vocabulary is held and the texts are read a chunk at a time
  (docs/benchmarks.md compares the two).
- Two scorers are trained on the decisions so far and their scores added after each is
  standardised over the whole review (so scores of any subset stay comparable):
  a logistic regression (weight 1), which learns what separates relevant from irrelevant
  records, and a Rocchio profile (weight 0.5: relevant centroid minus half the irrelevant
  centroid), which keeps pulling up records that resemble any relevant record, including the
  odd ones a discriminative model learns to ignore. A linear SVM is available as a member.
- Class balancing: at 1-5% prevalence the few relevant decisions would otherwise be drowned
  out, so the relevant class as a whole gets ``relevant_weight`` times the total weight of
  the irrelevant class.
- Cold start: until there is at least one relevant and one irrelevant decision, records are
  ranked by cosine similarity to the given keywords and relevant records.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

# ensemble members and their weights in the summed, standardised score
DEFAULT_MEMBERS = {"logistic": 1.0, "rocchio": 0.5, "svm": 0.0}
# From this many records on, features are hashed (bounded memory) rather than a vocabulary.
BOUNDED_FROM = 200_000


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(texts)
    while chunk := list(islice(it, size)):
        yield [text or "" for text in chunk]


class HashedTfidf:
    """TF-IDF of word unigrams and bigrams over a fixed, hashed space of 2**20 columns, as
    the vocabulary's features otherwise: sublinear term frequency, smoothed idf (as
    scikit-learn's), terms in over 95% of records dropped, rows L2-normalised. Fitted from an
    iterable read a chunk at a time and weighed in place: no vocabulary and no list of texts
    is held, only the matrix (8 bytes per term of a record, about 2.4 KB per abstract, kept
    in its chunks) and one chunk of text. (Unigrams alone, or each record's 160 strongest
    terms, would halve the matrix but lost 8 to 18 points of WSS@95 on the Nudging set.)"""

    n_features = 2**20
    chunk = 5_000  # a chunk's n-grams are Python strings while it is hashed

    def __init__(self) -> None:
        self._hasher = HashingVectorizer(
            n_features=self.n_features,
            ngram_range=(1, 2),
            alternate_sign=False,
            norm=None,
            dtype=np.float32,
        )
        self._frequency = np.zeros(self.n_features, dtype=np.int64)
        self._n = 0
        self._idf: np.ndarray | None = None

    def fit_transform(self, texts: Iterable[str]) -> "RowBlocks":
        """Counts a chunk at a time; the idf, known only at the end, then weighs each chunk
        in place. The chunks stay as they are, never copied into one matrix (``RowBlocks``)."""
        blocks = []
        for chunk in _chunks(texts, self.chunk):
            counts = self._hasher.transform(chunk)
            # the hasher leaves its arrays as views of buffers sized for every token before
            # repeats were summed (about 1.5 times the terms): keep compact copies instead
            counts.data, counts.indices = counts.data.copy(), counts.indices.copy()
            self._frequency += np.bincount(counts.indices, minlength=self.n_features)
            self._n += counts.shape[0]
            blocks.append(counts)
        self._idf = (np.log((1 + self._n) / (1 + self._frequency)) + 1).astype(np.float32)
        self._idf[self._frequency > 0.95 * self._n] = 0
        return RowBlocks([self._weigh(block) for block in blocks], self.n_features)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self._weigh(self._hasher.transform([text or "" for text in texts]))

    def _weigh(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        np.log(counts.data, out=counts.data)
        counts.data += 1
        counts.data *= self._idf[counts.indices]
        counts.eliminate_zeros()
        return normalize(counts, copy=False)


class RowBlocks:
    """A tall sparse matrix kept as the blocks of rows it was built in, for what the ranker
    asks of it: its shape, a product with a vector, and some of its rows (as one CSR
    matrix, in the order asked). Stacking the blocks would copy the whole matrix."""

    def __init__(self, blocks: list[sparse.csr_matrix], n_columns: int) -> None:
        self.blocks = blocks
        self.starts = np.cumsum([0] + [block.shape[0] for block in blocks])
        self.shape = (int(self.starts[-1]), n_columns)

    @property
    def nnz(self) -> int:
        return sum(block.nnz for block in self.blocks)

    def __matmul__(self, vector: np.ndarray) -> np.ndarray:
        if not self.blocks:
            return np.zeros(0)
        return np.concatenate([block @ vector for block in self.blocks])

    def __getitem__(self, rows) -> sparse.csr_matrix:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.shape[0]):
            raise IndexError("a row is outside the matrix")
        if rows.size == 0:
            return sparse.csr_matrix((0, self.shape[1]), dtype=np.float32)
        # the rows asked, sorted by block; each block gives its own at once
        by_block = np.argsort(rows, kind="stable")
        ordered = rows[by_block]
        bounds = np.searchsorted(ordered, self.starts)
        parts = [
            self.blocks[block][ordered[low:high] - self.starts[block]]
            for block, (low, high) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
            if high > low
        ]
        back = np.empty_like(by_block)
        back[by_block] = np.arange(by_block.size)
        return sparse.vstack(parts, format="csr")[back]


@dataclass(frozen=True, slots=True)
class RankInput:
    id: int
    text: str  # title + abstract + keywords, already joined by the caller


class NotFittedError(RuntimeError):
    pass


class Ranker:
    """Active-learning ranker for one review.

    Call ``fit`` once with every record's text, ``train`` after each decision (or batch of
    decisions), then ``scores`` to order the queue. Positions passed to ``train`` and
    ``scores`` are 0-based row positions into the texts given to ``fit``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        char_ngrams: bool = False,
        relevant_weight: float = 4.0,
        svm_c: float = 0.5,
        logistic_c: float = 10.0,
        rocchio_negative: float = 0.5,
        members: Mapping[str, float] | None = None,
        min_df: int = 1,
        bounded: bool = False,
    ) -> None:
        members = dict(DEFAULT_MEMBERS if members is None else members)
        if not members or set(members) - set(DEFAULT_MEMBERS) or min(members.values()) < 0:
            raise ValueError(f"members must weight some of {sorted(DEFAULT_MEMBERS)}")
        self.seed = seed
        self.char_ngrams = char_ngrams
        self.relevant_weight = relevant_weight
        self.svm_c = svm_c
        self.logistic_c = logistic_c
        self.rocchio_negative = rocchio_negative
        self.members = {name: weight for name, weight in members.items() if weight > 0}
        self.min_df = min_df
        self.bounded = bounded  # hashed features whatever the size (see HashedTfidf)
        self._features: sparse.csr_matrix | RowBlocks | None = None
        self._word_vectoriser: TfidfVectorizer | HashedTfidf | None = None
        self._char_vectoriser: TfidfVectorizer | None = None
        # one (weight, coefficients, intercept, mean, std) per member; empty until trained
        # on both classes
        self._linear: list[tuple[float, np.ndarray, float, float, float]] = []
        self._relevant_idx: np.ndarray = np.empty(0, dtype=np.int64)

    # features

    def fit(self, texts: Iterable[str], *, count: int | None = None) -> "Ranker":
        """Fit TF-IDF on the whole review's texts. Labels are not used.

        Cost grows with the collection: about 5 s per 20,000 abstracts on one core. With
        `count` (the number of texts) of ``BOUNDED_FROM`` or more, `texts` may be any
        iterable (a database cursor): it is read once, a chunk at a time, into hashed
        features (see ``HashedTfidf``).
        """
        large = count is not None and count >= BOUNDED_FROM
        if (self.bounded or large) and not self.char_ngrams:
            self._word_vectoriser = HashedTfidf()
            self._features = self._word_vectoriser.fit_transform(texts)
            if self._features.shape[0] == 0:
                raise ValueError("a review with no records cannot be ranked")
            self._linear = []
            self._relevant_idx = np.empty(0, dtype=np.int64)
            return self
        texts = [text or "" for text in texts]
        if len(texts) == 0:
            raise ValueError("a review with no records cannot be ranked")
        self._word_vectoriser = TfidfVectorizer(
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=self.min_df,
            max_df=0.95,
            dtype=np.float32,
        )
        blocks = [self._word_vectoriser.fit_transform(texts)]
        if self.char_ngrams:
            self._char_vectoriser = TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(3, 5),
                sublinear_tf=True,
                min_df=2,
                max_df=0.95,
                dtype=np.float32,
            )
            blocks.append(self._char_vectoriser.fit_transform(texts))
        features = sparse.hstack(blocks, format="csr", dtype=np.float32)
        self._features = normalize(features)
        self._linear = []
        self._relevant_idx = np.empty(0, dtype=np.int64)
        return self

    @property
    def n_records(self) -> int:
        return self._require_features().shape[0]

    def _require_features(self) -> sparse.csr_matrix | RowBlocks:
        if self._features is None:
            raise NotFittedError("call fit() with the review's texts first")
        return self._features

    # learning

    @property
    def is_trained(self) -> bool:
        """True once decisions of both kinds have been learnt from."""
        return bool(self._linear)

    def train(self, labelled_idx: Sequence[int], labels: Sequence[bool]) -> None:
        """Retrain on every decision so far. Without both classes, keeps cold-start ranking.

        20,000 records with 1,000 decisions retrain in well under two seconds: the linear
        models see only the labelled rows, and scoring all rows once (for standardisation)
        is a single sparse matrix-vector product per member.
        """
        features = self._require_features()
        idx = np.asarray(labelled_idx, dtype=np.int64)
        y = np.asarray(labels, dtype=bool)
        if idx.shape != y.shape:
            raise ValueError("labelled_idx and labels must have the same length")
        if idx.size and (idx.min() < 0 or idx.max() >= features.shape[0]):
            raise IndexError("a labelled position is outside the fitted records")
        self._relevant_idx = np.unique(idx[y])
        n_relevant = int(y.sum())
        if n_relevant == 0 or n_relevant == y.size:
            self._linear = []
            return

        weights = np.ones(y.size)
        # the relevant class carries `relevant_weight` times the irrelevant class's weight
        weights[~y] = n_relevant / (self.relevant_weight * (y.size - n_relevant))
        weights *= y.size / weights.sum()

        linear = []
        for member, member_weight in self.members.items():
            coef, intercept = self._fit_member(member, features[idx], y, weights)
            raw = features @ coef + intercept
            std = float(raw.std()) or 1.0
            linear.append((member_weight, coef, intercept, float(raw.mean()), std))
        self._linear = linear

    def _fit_member(
        self, member: str, x: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray
    ) -> tuple[np.ndarray, float]:
        if member == "rocchio":
            # centroid of the relevant records minus a share of the irrelevant centroid
            relevant = np.asarray(x[y].mean(axis=0)).ravel()
            irrelevant = np.asarray(x[~y].mean(axis=0)).ravel()
            return relevant - self.rocchio_negative * irrelevant, 0.0
        if member == "svm":
            model = LinearSVC(C=self.svm_c, dual=True, max_iter=5000, random_state=self.seed)
        else:
            model = LogisticRegression(
                C=self.logistic_c,
                solver="liblinear",
                dual=True,
                max_iter=1000,
                random_state=self.seed,
            )
        model.fit(x, y, sample_weight=weights)
        return np.asarray(model.coef_, dtype=np.float64).ravel(), float(model.intercept_[0])

    def scores(self, idx: Sequence[int] | None = None) -> np.ndarray:
        """Relevance scores (higher = screen sooner) for the given positions, or all records.

        Before training on both classes this is the cold-start similarity to the relevant
        records seen so far (zeros when there are none). 100,000 records score in well
        under a second.
        """
        features = self._require_features()
        rows = features if idx is None else features[np.asarray(idx, dtype=np.int64)]
        if not self._linear:
            return self.cold_start_scores(relevant_idx=self._relevant_idx, _rows=rows)
        total = np.zeros(rows.shape[0])
        for weight, coef, intercept, mean, std in self._linear:
            total += weight * (rows @ coef + intercept - mean) / std
        return total

    def cold_start_scores(
        self,
        *,
        keywords: Sequence[str] = (),
        relevant_idx: Sequence[int] = (),
        _rows: sparse.csr_matrix | None = None,
    ) -> np.ndarray:
        """Similarity of every record to the keywords and to known relevant records.

        Used before the classifier can be trained. Keywords and seed records are turned into
        the same TF-IDF space and averaged into one profile; a record's score is its cosine
        similarity to that profile. With neither, every score is 0 (queue order then falls
        to ``order_queue``'s random tie-break).
        """
        features = self._require_features()
        rows = features if _rows is None else _rows
        profile_parts = []
        if keywords:
            profile_parts.append(self.transform([" ".join(keywords)]))
        seeds = np.asarray(relevant_idx, dtype=np.int64)
        if seeds.size:
            profile_parts.append(features[seeds])
        if not profile_parts:
            return np.zeros(rows.shape[0])
        profile = sparse.vstack(profile_parts).mean(axis=0)
        profile = np.asarray(profile).ravel()
        norm = np.linalg.norm(profile)
        if norm == 0:
            return np.zeros(rows.shape[0])
        return np.asarray(rows @ (profile / norm)).ravel()

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Texts in the fitted feature space (unknown words are ignored)."""
        self._require_features()
        blocks = [self._word_vectoriser.transform(texts)]
        if self._char_vectoriser is not None:
            blocks.append(self._char_vectoriser.transform(texts))
        return normalize(sparse.hstack(blocks, format="csr", dtype=np.float32))


def order_queue(scores: np.ndarray, *, exploration: float = 0.05, seed: int = 0) -> np.ndarray:
    """Positions in screening order: best score first, with a little exploration.

    About one slot in ``1 / exploration`` goes to a record drawn at random from those not yet
    placed, so a topic the model has not learnt about still surfaces now and then. Equal
    scores are ordered at random (seeded), never by position, so an import's row order
    cannot leak into the queue. ``exploration=0`` gives the pure ranking.
    """
    if not 0 <= exploration < 1:
        raise ValueError("exploration must be in [0, 1)")
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.size
    rng = np.random.default_rng(seed)
    tie_break = rng.permutation(n)
    # lexsort: the last key is the primary one
    ranked = np.lexsort((tie_break, -scores))
    if exploration == 0 or n < 2:
        return ranked

    explore_slot = rng.random(n) < exploration
    explore_pick = rng.permutation(n)
    placed = np.zeros(n, dtype=bool)
    order = np.empty(n, dtype=np.int64)
    next_ranked = next_random = 0
    for slot in range(n):
        if explore_slot[slot]:
            while placed[explore_pick[next_random]]:
                next_random += 1
            choice = explore_pick[next_random]
        else:
            while placed[ranked[next_ranked]]:
                next_ranked += 1
            choice = ranked[next_ranked]
        placed[choice] = True
        order[slot] = choice
    return order
