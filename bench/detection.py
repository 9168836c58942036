"""Benchmark (not a test): how well intake's duplicate-text detection and classification
suggestion do on the labelled sets, and what they cost. Prints JSON.

    .venv/bin/python bench/detection.py

- duplicate text: every pair of texts in services/intake/tests/data/similarity_set.yaml (same group
  = the same letter reworded; different groups = different matters, some on the same issue and
  unit), precision and recall at several thresholds with the LSH candidate step included, and the
  configured threshold's figures;
- classification: trained on deploy/seed/classifier-examples.yaml, accuracy on the held-out set
  services/intake/tests/data/classifier_heldout.yaml (top-1 and top-3 issue type, category);
- CPU per signature and per suggestion.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import yaml

from intake import detection
from intake.classifier import Classifier

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "services" / "intake" / "tests" / "data"
SEED = REPO / "deploy" / "seed"


def similarity_figures(rules: detection.Rules) -> dict:
    groups = yaml.safe_load((DATA / "similarity_set.yaml").read_text(encoding="utf-8"))["groups"]
    texts = [(i, t) for i, g in enumerate(groups) for t in g["texts"]]
    rule = rules.duplicate_text
    detection.words("预热")  # jieba's dictionary loads once per process (0.7 s), not per text
    t0 = time.process_time()
    sigs = [(i, detection.signature(t, rule)) for i, t in texts]
    cpu_ms = (time.process_time() - t0) * 1000 / len(texts)
    pairs = [(i == j, detection.similarity(a.values, b.values) or 0.0, bool(set(a.bands) & set(b.bands)))
             for (i, a), (j, b) in itertools.combinations(sigs, 2)]
    positives = sum(p for p, _, _ in pairs)

    def at(threshold: float) -> dict:
        tp = sum(1 for p, s, c in pairs if p and c and s >= threshold)
        fp = sum(1 for p, s, c in pairs if not p and c and s >= threshold)
        return {"threshold": threshold, "precision": round(tp / max(tp + fp, 1), 3), "recall": round(tp / positives, 3),
                "true_positives": tp, "false_positives": fp}

    return {"texts": len(texts), "groups": len(groups), "same_letter_pairs": positives,
            "different_matter_pairs": len(pairs) - positives,
            "lsh_candidates_among_different": sum(1 for p, _, c in pairs if not p and c),
            "highest_different_matter_similarity": max(s for p, s, _ in pairs if not p),
            "configured": at(rule.threshold), "sweep": [at(t) for t in (0.15, 0.2, 0.25, 0.3, 0.4, 0.5)],
            "cpu_ms_per_signature": round(cpu_ms, 3)}


def classifier_figures() -> dict:
    examples = yaml.safe_load((SEED / "classifier-examples.yaml").read_text(encoding="utf-8"))["examples"]
    held = yaml.safe_load((DATA / "classifier_heldout.yaml").read_text(encoding="utf-8"))["cases"]
    t0 = time.perf_counter()
    model = Classifier(examples)
    train_s = time.perf_counter() - t0
    t0 = time.process_time()
    guesses = [model.suggest(h["text"]) for h in held]
    cpu_ms = (time.process_time() - t0) * 1000 / len(held)
    top1 = sum(g["issue_type"][0].value == h["issue_type"] for g, h in zip(guesses, held))
    top3 = sum(h["issue_type"] in [x.value for x in g["issue_type"]] for g, h in zip(guesses, held))
    cat = sum(g["category"][0].value == h["category"] for g, h in zip(guesses, held))
    n = len(held)
    return {"training_examples": len(examples), "held_out": n, "issue_type_top1": round(top1 / n, 3),
            "issue_type_top3": round(top3 / n, 3), "category": round(cat / n, 3), "train_s": round(train_s, 2),
            "cpu_ms_per_suggestion": round(cpu_ms, 2)}


def main() -> None:
    rules = detection.Rules.model_validate(yaml.safe_load((SEED / "detection.yaml").read_text(encoding="utf-8")))
    print(json.dumps({"duplicate_text": similarity_figures(rules), "classification": classifier_figures()},
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
