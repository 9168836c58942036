"""A flat summary of a py-spy raw profile (``py-spy record -f raw``, or ``bench/pipeline.py --profile``).

    .venv/bin/python bench/flat_profile.py profiles/intake.txt [--only SUBSTRING] [--top 40]

Prints, for each function (name and file), the share of samples it appears in (inclusive) and the
share where it is the innermost frame (self). ``--only`` keeps the stacks that contain SUBSTRING.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def frame_key(frame: str) -> str:
    # "name (path/to/file.py:123)" -> "name file.py": lines of one function count together
    name, _, where = frame.partition(" (")
    return f"{name} {where.rsplit('/', 1)[-1].split(':', 1)[0]}" if where else name


def summary(lines: list[str], only: str | None = None) -> tuple[int, Counter, Counter]:
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or (only and only not in stack):
            continue
        n = int(count)
        total += n
        keys = [frame_key(f) for f in stack.split(";")]
        for key in set(keys):
            inclusive[key] += n
        own[keys[-1]] += n
    return total, inclusive, own


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("profile", type=Path)
    ap.add_argument("--only")
    ap.add_argument("--top", type=int, default=40)
    a = ap.parse_args()
    total, inclusive, own = summary(a.profile.read_text().splitlines(), a.only)
    print(f"{total} samples")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        print(f"--- {title}")
        for key, n in counts.most_common(a.top):
            print(f"{100 * n / max(total, 1):5.1f} %  {key}")


if __name__ == "__main__":
    main()
