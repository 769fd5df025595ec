"""Score and time each body-extraction method on the local evaluation set.

Run as ``python bench/extract.py`` from the repository root; nothing touches the network.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

# Run as a script, the repository root is not on sys.path; the crawler package lives there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.evaluate import METHODS, Case, Method, evaluate, load_cases, page_text

# Pages of about 100 KB: the size of a news or portal page with its navigation.
TIMING_MIN_BYTES = 80_000
ROUNDS = 5


def time_per_page(method: Method, cases: list[Case]) -> float:
    """Median milliseconds per page over several rounds (after one warm-up page)."""
    pages = [(page_text(case), case) for case in cases]
    method(pages[0][0], pages[0][1].url, pages[0][1].now)
    samples = []
    for _ in range(ROUNDS):
        for html, case in pages:
            start = time.perf_counter()
            method(html, case.url, case.now)
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    cases = load_cases()
    big = [case for case in cases if len(case.raw) >= TIMING_MIN_BYTES]
    sizes = ", ".join(f"{case.name} {len(case.raw) // 1000} KB" for case in big)
    print(f"{len(cases)} cases; timing on {len(big)} pages ({sizes}), median of {ROUNDS} rounds\n")
    columns = ("title acc", "body F1", "date acc", "day acc", "ms/page")
    header = f"{'method':<18}" + "".join(f"{c:>10}" for c in columns)
    print(header)
    print("-" * len(header))
    per_case: dict[str, dict[str, float]] = {}
    for name, method in METHODS.items():
        summary = evaluate(method, cases)
        ms = time_per_page(method, big)
        print(
            f"{name:<18}{summary.title_accuracy:>10.2f}{summary.body_f1:>10.3f}"
            f"{summary.date_accuracy:>10.2f}{summary.day_accuracy:>10.2f}{ms:>10.1f}"
        )
        per_case[name] = {s.name: s.body_f1 for s in summary.scores}
    print("\nbody char-F1 per case")
    names = list(METHODS)
    print(f"{'case':<30}" + "".join(f"{n:>18}" for n in names))
    for case in cases:
        row = "".join(f"{per_case[n][case.name]:>18.3f}" for n in names)
        print(f"{case.name:<30}{row}")


if __name__ == "__main__":
    main()
