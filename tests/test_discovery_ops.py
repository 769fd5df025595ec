"""Acting on suggestions (accept through the keyword operations, dismiss remembered) and
discovery's doors: the scheduled job and ``yuqing discover`` (real SQLite store)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from devtools.discoveryworld import World, library, matched
from keywords.library import KeywordLibrary
from monitor.discovery import operations
from monitor.discovery.run import discover
from store import Invalid
from store.acting import Acting
from store.clock import ManualClock
from store.sqlite import SQLiteStore
from yuqing.cli import main
from yuqing.config import DiscoveryConfig
from yuqing.discovery import COMMAND, DiscoveryJob

START = datetime(2026, 3, 1, tzinfo=UTC)


def _seeded(path: Path, start: datetime = START, seed: int = 11) -> tuple[SQLiteStore, World]:
    store = SQLiteStore(path)
    KeywordLibrary(store).commit(library(), author="t", created=start)
    world = World(seed=seed, start=start, days=14, per_day=100, incident_day=13)
    store.items.upsert_many(matched(list(world.stream()), library()))
    return store, world


def test_accepting_adds_the_word_to_the_group_audited_and_it_is_no_longer_emerging(
    tmp_path: Path,
) -> None:
    store, world = _seeded(tmp_path / "a.db")
    now = world.end_of(13)
    acting = Acting("张三", store, lambda: now)
    change = operations.accept(acting, world.term, "民生", parent=1)
    assert change.version.version == 2
    group = KeywordLibrary(store).current()[1].group("民生")
    assert group is not None and world.term in group.texts()
    [entry] = store.audit.list(target="group:民生")
    assert entry.actor == "张三" and entry.action == "keywords.group.update"
    assert all(world.term not in t.term for t in discover(store, now=now).terms)


def test_a_dismissed_term_stays_away_until_it_bursts_again(tmp_path: Path) -> None:
    store, world = _seeded(tmp_path / "d.db")
    now = world.end_of(13)
    acting = Acting("李四", store, lambda: now)
    first = discover(store, now=now)
    [top] = [s for s in first.suggestions if s["term"] == world.term]
    operations.dismiss(acting, world.term, window_df=top["window_df"], score=top["g2"])
    [entry] = store.audit.list(target=f"term:{world.term}")
    assert (entry.action, entry.actor, entry.before) == ("discovery.dismiss", "李四", None)
    assert entry.after["window_df"] == 10
    again = discover(store, now=now)
    assert world.term not in [s["term"] for s in again.suggestions]
    assert world.term in [t.term for t in again.terms]  # still shown as a term
    # Dismissed at a quarter of today's burst: today is a new burst, suggested again.
    operations.dismiss(acting, world.term, window_df=4)
    assert world.term in [s["term"] for s in discover(store, now=now).suggestions]
    # Accepting forgets the dismissal, audited too.
    operations.accept(acting, world.term, "民生", parent=1)
    assert store.discovery.dismissal(world.term) is None
    assert store.audit.list(target=f"term:{world.term}")[0].action == "discovery.undismiss"


@pytest.mark.parametrize("term", ["", "a", "蓝 湖", "x蓝湖", "蓝" * 21])
def test_a_term_is_a_run_of_chinese_characters(tmp_path: Path, term: str) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    with pytest.raises(Invalid) as e:
        operations.dismiss(Acting("张三", store, lambda: START), term, window_df=1)
    assert e.value.field == "term"
    assert store.discovery.dismissals() == [] and store.audit.list() == []


def test_the_job_runs_once_per_period_whichever_process_asks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, world = _seeded(tmp_path / "j.db")
    # The other process runs each run as a process of its own, as yuqing run does: it
    # finds the store as yuqing does, here from the environment.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_STORE", f"sqlite:///{tmp_path / 'j.db'}")
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    clock = ManualClock(world.end_of(13))
    config = DiscoveryConfig.model_validate({"interval_minutes": 60})
    one = DiscoveryJob(store, config, clock)
    other = DiscoveryJob(store, config, clock, command=COMMAND)
    other.holder = "elsewhere:1"
    with caplog.at_level(logging.INFO, logger="yuqing.discovery"):
        first = one.run_once()
    assert first is not None and first["window_docs"] > 0 and first["terms"] > 0
    # The run's line in the service's log, with its figures.
    (logged,) = [r for r in caplog.records if getattr(r, "event", None) == "discovery"]
    assert logged.fields == first  # type: ignore[attr-defined]
    saved = store.discovery.latest_report()
    assert saved is not None and world.term in [t["term"] for t in saved.data["terms"]]
    assert other.run_once() is None  # the period's run is done

    clock.advance(timedelta(minutes=60))
    second = other.run_once()
    # The run of its own saved its report, at the time it was given.
    assert second is not None and second["window_docs"] > 0
    saved = store.discovery.latest_report()
    assert saved is not None and saved.time == clock.now()
    assert world.term in [t["term"] for t in saved.data["terms"]]


def test_a_failed_run_of_its_own_is_logged_with_its_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, world = _seeded(tmp_path / "f.db")
    monkeypatch.setenv("YUQING_CONFIG", str(tmp_path / "missing.toml"))
    job = DiscoveryJob(store, DiscoveryConfig(), ManualClock(world.end_of(13)), command=COMMAND)
    with caplog.at_level(logging.INFO, logger="yuqing.discovery"):
        assert job.run_once() is None
    (failed,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "exit 1" in failed.getMessage() and "missing.toml" in failed.getMessage()
    assert store.discovery.latest_report() is None


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_STORE", f"sqlite:///{tmp_path / 'y.db'}")
    # ``yuqing discover`` reads the real clock: the stream ends now.
    start = datetime.now(UTC) - timedelta(days=14)
    store, world = _seeded(tmp_path / "y.db", start, seed=12)
    store.close()
    return world


def run(*args: str, lang: str = "") -> tuple[int, str]:
    """``yuqing ARGS`` in Chinese (the default), or ``lang`` (``en``)."""
    result = CliRunner().invoke(main, list(args), env={"YUQING_LANG": lang})
    return result.exit_code, result.output


def test_discover_prints_terms_and_suggestions_and_acts_on_them(env: World) -> None:
    code, out = run("discover", "--save", lang="en")
    assert code == 0, out
    lines = out.splitlines()
    assert "regions: 潼南" in lines[0]
    terms = lines[lines.index("terms:") + 1 : lines.index("clusters:")]
    assert env.term in [t.split()[0] for t in terms]
    assert f"{env.term}" in out.split("suggestions:")[1] and "-> 民生" in out
    code, out = run("discover", "--json")
    assert code == 0 and env.term in [t["term"] for t in json.loads(out)["terms"]]

    code, out = run("discover", "dismiss", env.term, "--actor", "王五")
    assert (code, out.strip()) == (0, f"已忽略 {env.term}")
    code, out = run("discover")
    lines = out.splitlines()
    assert "地区：潼南" in lines[0] and "突增词：" in lines and "聚类：" in lines, out
    assert env.term not in out.split("建议：")[1]

    code, out = run("discover", "accept", env.term, "--group", "没有这组")
    assert code == 2 and "没有这组" in out and "Traceback" not in out
    code, out = run("discover", "accept", env.term, "--group", "民生", "--parent", "7")
    assert code == 2 and "词库已是版本 1，不是 7" in out, out
    code, out = run("discover", "accept", env.term, "--group", "民生")
    assert (code, out.strip()) == (0, f"已将 {env.term} 加入 民生：词库版本 2")
    code, out = run("discover", "dismiss", "a b")
    assert code == 2 and "term" in out


def test_the_schedule_and_window_come_from_the_configuration(tmp_path: Path) -> None:
    from yuqing.config import ConfigError, load
    from yuqing.discovery import settings_for

    path = tmp_path / "yuqing.toml"
    path.write_text("[discovery]\nwindow_hours = 6\ninterval_minutes = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load(str(path))
    assert "interval_minutes" in str(e.value)
    path.write_text("[discovery]\nwindow_hours = 6\n", encoding="utf-8")
    config = load(str(path)).discovery
    settings = settings_for(config)
    assert (config.interval_minutes, settings.window, settings.baseline) == (
        60, timedelta(hours=6), timedelta(days=14),
    )  # fmt: skip
