"""``bench/run.py --rounds``: each round's ratio from figures of that round only."""

from __future__ import annotations

from bench import rounds
from bench.run import parse_args


def _web(ms: float) -> dict:
    return {"cpu": {"gunicorn_ms_per_req": ms}}


def _worker(seconds: float, ok: int) -> dict:
    return {"ok_window": ok, "cpu": {"cpu_s": {"celery": seconds}}}


def test_a_ratio_divides_figures_of_the_same_round_and_reports_the_median():
    # The machine halves its speed in round 2: the per-round ratio stays 3x; dividing
    # round 2's product by round 1's ceiling would give 6x.
    measured = [
        {"ceiling_noop": _web(1.0), "create_cold": _web(3.0)},
        {"ceiling_noop": _web(2.0), "create_cold": _web(6.0)},
        {"ceiling_noop": _web(1.0), "create_cold": _web(4.0)},
    ]
    (row,) = rounds.ratios(measured)
    assert (row["product"], row["ceiling"]) == ("create_cold", "ceiling_noop")
    assert row["rounds"] == [3.0, 3.0, 4.0]
    assert (row["median"], row["low"], row["high"]) == (3.0, 3.0, 4.0)


def test_worker_ratios_use_cpu_per_successful_operation():
    measured = [
        {
            "ceiling_celery_noop": _worker(2.0, 1000),  # 2 ms per task
            "post_to_completed_c1": _worker(1.5, 300),  # 5 ms per generation
        }
    ]
    (row,) = rounds.ratios(measured)
    assert row["kind"] == "worker" and row["median"] == 2.5


def test_a_round_without_its_ceiling_is_left_out_and_one_round_renders_nothing():
    measured = [{"create_cold": _web(3.0)}, {"ceiling_noop": _web(1.0), "create_cold": _web(2.0)}]
    (row,) = rounds.ratios(measured)
    assert row["rounds"] == [2.0]
    assert rounds.render({"rounds": measured[:1]}) == []
    text = "\n".join(rounds.render({"rounds": measured}))
    assert "median of 2 rounds" in text and "| create_cold ÷ ceiling_noop (web CPU) | 2.00x" in text


def test_rounds_repeat_only_the_chosen_ratio_scenarios_in_pass_order():
    chosen = ["ceiling_noop", "ceiling_insert", "create_cold", "list_100k_first"]
    assert rounds.round_scenarios(chosen) == ["ceiling_noop", "create_cold"]
    calls: list[str] = []

    def measure(name: str) -> dict:
        calls.append(name)
        return {}

    extra = rounds.run_rounds(3, ["ceiling_noop", "create_cold"], measure)
    assert len(extra) == 2 and calls == ["ceiling_noop", "create_cold"] * 2
    assert parse_args(["--rounds", "3", "--scenarios", "ceiling_noop"]).rounds == 3


def _timed(p50: float, p99: float) -> dict:
    return {"latency": {"p50_ms": p50, "p99_ms": p99}}


def test_the_post_to_completed_latencies_are_repeated_and_reported_as_medians():
    chosen = ["ceiling_noop", "post_to_completed_c1", "post_to_completed_wait_c1", "list_1m_first"]
    assert rounds.round_scenarios(chosen) == chosen  # all four are round scenarios
    measured = [
        {
            "post_to_completed_c1": _timed(10.0, 14.0),
            "post_to_completed_wait_c1": _timed(7.0, 12.0),
        },
        {
            "post_to_completed_c1": _timed(30.0, 40.0),
            "post_to_completed_wait_c1": _timed(6.0, 11.0),
        },
        {"post_to_completed_c1": _timed(11.0, 15.0)},  # a round that missed the ASGI scenario
    ]
    c1, wait = rounds.latencies(measured)
    assert (c1["scenario"], c1["median_p50"], c1["low"], c1["high"]) == (
        "post_to_completed_c1", 11.0, 10.0, 30.0,
    )  # fmt: skip
    assert c1["median_p99"] == 15.0 and c1["p50s"] == [10.0, 30.0, 11.0]
    assert (wait["median_p50"], wait["p50s"]) == (6.5, [7.0, 6.0])
    text = "\n".join(rounds.render({"rounds": measured}))
    assert "| post_to_completed_wait_c1 | 6.50 | 6.00 | 7.00 | 11.50 | 7.00, 6.00 |" in text
