"""Source health from its recent runs, and the events raised when it changes.

A source is in trouble when it keeps failing, is blocked by an anti-bot challenge, goes
silent (no new items for several times its usual gap between yields), fails to parse, or
decodes to replacement characters. Each run records the problems found after it; a
problem that appears (or clears) raises a health event in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from store import Store
from store.model import HEALTH_KINDS, CrawlRun, HealthEvent

FAILING_RUNS = 3  # consecutive failed runs
SILENT_MIN_RUNS = 3  # never call a source silent sooner than this many empty runs
SILENT_FACTOR = 3.0  # ... nor before this many times its usual gap between yielding runs
PARSE_SHARE = 0.2  # of a run's pages yielding no item
REPLACEMENT_SHARE = 0.01  # U+FFFD over decoded characters
_FAILED = frozenset({"failed", "lost"})


@dataclass
class Health:
    """Figures for ``yuqing sources`` and the problems they add up to."""

    source_id: str
    runs: int = 0
    last_run: CrawlRun | None = None
    last_success: datetime | None = None
    consecutive_failures: int = 0
    empty_runs: int = 0  # consecutive finished runs without a new item
    usual_gap: float | None = None  # runs between yielding runs, from older history
    parse_failures: int = 0
    replacement_share: float = 0.0
    blocked: bool = False
    problems: dict[str, str] = field(default_factory=dict)  # kind -> explanation


def assess(source_id: str, runs: list[CrawlRun]) -> Health:
    """Health after the finished ``runs`` (newest first)."""
    # A run stopped by a shutdown says nothing about the source.
    done = [r for r in runs if r.outcome not in ("running", "abandoned")]
    health = Health(source_id, runs=len(done), last_run=done[0] if done else None)
    if not done:
        return health
    last = done[0]
    health.last_success = next((r.started for r in done if r.outcome in ("ok", "partial")), None)
    health.consecutive_failures = next(
        (i for i, r in enumerate(done) if r.outcome not in _FAILED), len(done)
    )
    health.blocked = last.outcome == "blocked"
    health.parse_failures = last.parse_failures
    health.replacement_share = last.replacement_share
    finished = [r for r in done if r.outcome in ("ok", "partial")]
    health.empty_runs = next((i for i, r in enumerate(finished) if r.new_items), len(finished))
    older = finished[health.empty_runs :]
    yielding = sum(1 for r in older if r.new_items)
    if yielding:
        health.usual_gap = len(older) / yielding

    problems = health.problems
    if health.consecutive_failures >= FAILING_RUNS:
        reasons = "; ".join(e["reason"] for e in last.errors[:3]) or last.outcome
        # Operators read these (alerts, emails, the source page): in Chinese.
        problems["failing"] = f"连续 {health.consecutive_failures} 次采集失败（{reasons}）"
    if health.blocked:
        problems["blocked"] = "网站返回反爬验证页面，未予绕过"
    if (
        health.usual_gap is not None
        and health.empty_runs >= SILENT_MIN_RUNS
        and health.empty_runs >= SILENT_FACTOR * health.usual_gap
    ):
        problems["silent"] = (
            f"连续 {health.empty_runs} 次采集没有新信息（通常每 {health.usual_gap:.1f} 次就有）"
        )
    pages = last.items + last.parse_failures
    if pages and last.parse_failures / pages >= PARSE_SHARE:
        problems["parse"] = f"{pages} 个页面中有 {last.parse_failures} 个未能提取出信息"
    if last.replacement_share >= REPLACEMENT_SHARE:
        problems["encoding"] = f"解码后的文字有 {last.replacement_share:.1%} 是替换字符（乱码）"
    return health


def record(
    store: Store, run: CrawlRun, previous: CrawlRun | None, health: Health
) -> list[HealthEvent]:
    """Store an event for each problem that appeared since ``previous`` and one
    ``recovered`` for those that cleared; sets ``run.problems``."""
    run.problems = sorted(health.problems)
    before = set(previous.problems) if previous else set()
    at = run.finished or run.started
    events = [
        HealthEvent(run.source_id, at, kind, message, {"run": run.id})
        for kind, message in health.problems.items()
        if kind not in before
    ]
    cleared = sorted(before - set(health.problems))
    if cleared:
        events.append(
            HealthEvent(
                run.source_id,
                at,
                "recovered",
                "已恢复：" + "、".join(HEALTH_KINDS.get(k, k) for k in cleared),
                {"run": run.id, "cleared": cleared},
            )
        )
    return [store.health_events.append(e) for e in events]
