"""Run states an analyst can trust: a missed arrival SLA, a re-pull that found nothing and a
file stuck waiting for its done marker each fail their run with a message that names the
files, and the run's note says the same (``dag.test()`` against a real sshd)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.dags.helpers import BANK, Env, day_of, run_note, xcom


def test_a_missed_sla_fails_the_run_naming_what_arrived_and_what_came_late(
    env: Env, webhook: Callable[[], list[dict[str, Any]]]
) -> None:
    env.configure(arrival_sla='{ latest = "09:00", min_files = 2 }')
    day = (datetime.now(UTC) - timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    env.sshd.put("/outbound/early.ach", b"on time", mtime=(day - timedelta(minutes=30)).timestamp())
    env.sshd.put("/outbound/late.ach", b"too late", mtime=(day + timedelta(minutes=47)).timestamp())

    # A past day checked from the form, the run itself on a later date.
    run, states = env.run(f"bank_sla__{BANK}", run_conf={"day": day.date().isoformat()})

    assert run.state == "failed"
    assert states[("check_arrivals", -1)] == ("failed", 1)  # no retry: files cannot arrive before a past deadline
    result = xcom(run, "check_arrivals", key="result")
    message = (
        f"bank {BANK}: arrival SLA missed on {day.date()}: 1 of 2 file(s) arrived by 09:00 UTC "
        "(/outbound/early.ach at 08:30); 1 missing; arrived late: /outbound/late.ach at 09:47"
    )
    assert result["missed"] == message
    assert run_note(run) == message
    (alert,) = webhook()
    assert alert["kind"] == "arrival_sla_missed" and alert["details"]["late"] == {
        "/outbound/late.ach": (day + timedelta(minutes=47)).isoformat()
    }


def test_a_met_sla_stays_green_and_says_so_in_itsrun_note(env: Env) -> None:
    env.configure(arrival_sla='{ latest = "09:00", min_files = 1 }')
    day = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    env.sshd.put("/outbound/early.ach", b"on time", mtime=(day - timedelta(minutes=5)).timestamp())

    run, states = env.run(f"bank_sla__{BANK}", run_conf={"day": day.date().isoformat()})

    assert run.state == "success", states
    assert run_note(run) == f"SLA met on {day.date()}: 1 file(s) by 09:00."


def test_a_repull_that_finds_no_file_fails_and_points_at_reprocessing(env: Env) -> None:
    env.configure(post_pull='"delete"')
    gone = env.put("gone.ach", b"pulled, then deleted by the post-pull action\n", age=3600)
    day = day_of(gone)
    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success", states and not gone.exists()

    run, states = env.run("bank_repull", run_conf={"bank": BANK, "start_date": day, "end_date": day, "force": True})

    assert run.state == "failed"
    report = xcom(run, "record", key="report")
    assert report["nothing_found"] == (
        f"the re-pull of {day} found no file on the server in those days; 1 file(s) pulled before are no "
        "longer there (/outbound/gone.ach): reprocess their archived copies with bank_reprocess"
    )
    assert run_note(run) == (
        f"Re-pull of bank {BANK}, {day} (bank-local days; forced: files already pulled are pulled again)\n"
        f"Nothing pulled: {report['nothing_found']}."
    )


def test_a_repull_of_days_the_bank_sent_nothing_for_fails(env: Env) -> None:
    day = (datetime.now(UTC) - timedelta(days=5)).date().isoformat()

    run, _states = env.run("bank_repull", run_conf={"bank": BANK, "start_date": day, "end_date": day, "force": True})

    assert run.state == "failed"
    assert xcom(run, "record", key="report")["nothing_found"] == (
        f"the re-pull of {day} found no file on the server in those days"
    )


def test_a_file_waiting_too_long_for_its_marker_fails_the_run_and_alerts(
    env: Env, webhook: Callable[[], list[dict[str, Any]]]
) -> None:
    env.configure(stability='{ done_marker = ".done" }', marker_overdue='"1 h"', lookback='"7 days"')
    env.put("stuck.ach", b"waiting since two days\n", age=2 * 86400 + 3 * 3600)
    env.put("fresh.ach", b"its marker is not due yet\n", age=600)
    env.put("ready.ach", b"has its marker\n", age=600)
    env.put("ready.ach.done", b"", age=600)

    run, states = env.run(f"bank_pull__{BANK}")

    assert run.state == "failed"
    assert states[("record", -1)][0] == "failed"
    report = xcom(run, "record", key="report")
    assert [p["path"] for p in report["pulled"]] == ["/outbound/ready.ach"]  # the others still land
    assert list(report["marker_overdue"]) == ["/outbound/stuck.ach"]
    assert (
        "it has waited 2 d 3 h for its .done marker (marker_overdue is 1 h 0 min)"
        in (report["marker_overdue"]["/outbound/stuck.ach"])
    )
    assert set(report["waiting"]) == {"/outbound/stuck.ach", "/outbound/fresh.ach"}
    (alert,) = webhook()
    assert alert["kind"] == "marker_overdue" and list(alert["details"]["files"]) == ["/outbound/stuck.ach"]


def test_a_file_within_its_marker_wait_keeps_the_run_green(env: Env) -> None:
    env.configure(stability='{ done_marker = ".done" }', marker_overdue='"1 day"')
    env.put("soon.ach", b"marker expected later today\n", age=3 * 3600)

    run, states = env.run(f"bank_pull__{BANK}")

    assert run.state == "success", states
    report = xcom(run, "record")
    assert report["marker_overdue"] == {} and list(report["waiting"]) == ["/outbound/soon.ach"]
