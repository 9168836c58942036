"""A classification suggestion for registrars: the issue type and the category (Arts 28–31's
依法分类) suggested from the summary text. The registrar confirms; nothing is decided by it.

Trained when intake starts from the group's examples (deploy/seed/classifier-examples.yaml):
TF-IDF over jieba's words and word pairs, and character pairs (short summaries share few
words), into a logistic regression (scikit-learn). Its accuracy on a held-out set written
independently of the examples is printed by bench/detection.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union
from sklearn.feature_extraction.text import TfidfVectorizer

from .detection import words


def _words(text: str) -> list[str]:
    w = words(text)
    return w + [f"{a} {b}" for a, b in zip(w, w[1:])]


def _model():
    features = make_union(TfidfVectorizer(analyzer=_words, sublinear_tf=True),
                          TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, min_df=1))
    return make_pipeline(features, LogisticRegression(C=20, max_iter=2000))


@dataclass(frozen=True)
class Guess:
    value: str
    probability: float


class Classifier:
    def __init__(self, examples: list[dict]):
        if not examples:
            raise ValueError("no classification examples")
        texts = [e["text"] for e in examples]
        self.issue_type = _model().fit(texts, [e["issue_type"] for e in examples])
        self.category = _model().fit(texts, [e["category"] for e in examples])

    @staticmethod
    def _top(model, text: str, n: int) -> list[Guess]:
        probs = model.predict_proba([text])[0]
        ranked = sorted(zip(model.classes_, probs), key=lambda x: -x[1])[:n]
        return [Guess(str(c), round(float(p), 3)) for c, p in ranked]

    def suggest(self, text: str, n: int = 3) -> dict[str, list[Guess]]:
        return {"issue_type": self._top(self.issue_type, text, n), "category": self._top(self.category, text, n)}
