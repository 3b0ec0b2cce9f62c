"""The bank DAGs end to end with ``dag.test()``: a real OpenSSH sshd (``tests/sftp/sshd.py``),
the connection from an ``AIRFLOW_CONN_*`` variable, files landing in a local staging store."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.dags.helpers import BANK, Env, day_of, xcom


def test_files_land_with_their_bytes_and_metadata_and_a_second_run_pulls_nothing(env: Env) -> None:
    payroll = b"101 ACME PAYROLL\n" * 500
    balances = os.urandom(300_000)
    a = env.put("payroll.ach", payroll)
    b = env.put("balances.txt", balances)
    env.put("notes.csv", b"not included")
    env.put("payroll.ach.tmp", b"excluded")

    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success", states
    assert states[("pull_files.transfer", 0)][0] == states[("pull_files.transfer", 1)][0] == "success"
    assert env.landed() == {f"{day_of(a)}/payroll.ach": payroll, f"{day_of(b)}/balances.txt": balances}
    meta = env.store.info(f"{day_of(b)}/balances.txt").metadata
    assert meta["bankgate-sha256"] == hashlib.sha256(balances).hexdigest()
    assert meta["bankgate-remote-path"] == "/outbound/balances.txt"
    assert meta["bankgate-bank"] == BANK and meta["bankgate-size"] == str(len(balances))
    report = xcom(run, "record")
    assert sorted(p["path"] for p in report["pulled"]) == ["/outbound/balances.txt", "/outbound/payroll.ach"]
    assert report["bytes"] == len(payroll) + len(balances) and report["failed"] == {}
    assert a.exists() and b.exists()  # post_pull = keep

    before = {info.key: info.etag for info in env.store.list()}
    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success", states
    report = xcom(run, "record")
    assert report["pulled"] == [] and report["already_pulled"] == 2
    assert not any(task == "pull_files.transfer" and index >= 0 for task, index in states)  # nothing was mapped
    after = {info.key: info.etag for info in env.store.list() if not info.key.endswith("observations.json")}
    assert after.items() <= before.items()


def test_a_run_removes_the_partial_uploads_a_dead_run_left_a_day_ago(env: Env) -> None:
    stale, fresh = f"bankgate-partial/{BANK}/0ld-pay.ach", f"bankgate-partial/{BANK}/n3w-pay.ach"
    for key in (stale, fresh):
        env.store.put_bytes(key, b"half a file")
    two_days_ago = time.time() - 2 * 86400
    os.utime(env.staging / stale, (two_days_ago, two_days_ago))
    env.put("pay.ach", b"101 ACME\n")

    run, states = env.run(f"bank_pull__{BANK}")

    assert run.state == "success", states
    assert [i.key for i in env.store.list("bankgate-partial/")] == [fresh]  # a run in progress may own it


def test_a_growing_file_is_skipped_then_pulled_by_the_next_run(env: Env) -> None:
    env.configure(stability='{ unchanged_for = "60 s" }')  # wide: a slow machine must not pull it early
    growing = env.put("growing.ach", b"first half\n", age=0)

    run, _states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success"
    report = xcom(run, "record")
    assert report["pulled"] == []
    assert "/outbound/growing.ach" in report["waiting"]
    assert env.landed() == {}

    with open(growing, "ab") as f:  # the bank finishes writing it ...
        f.write(b"second half\n")
    finished = time.time() - 120  # ... two minutes before the next run
    os.utime(growing, (finished, finished))
    run, _states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success"
    assert env.landed() == {f"{day_of(growing)}/growing.ach": b"first half\nsecond half\n"}


def test_a_wrong_host_key_fails_clearly_and_touches_nothing(env: Env) -> None:
    wrong = env.sshd.client_key.with_suffix(".pub").read_text().split()[:2]  # a valid key, not the server's
    env.connect(known_hosts=f"[{env.sshd.host}]:{env.sshd.port} {wrong[0]} {wrong[1]}\n")
    remote = env.put("payroll.ach", b"untouched")
    mtime = remote.stat().st_mtime

    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "failed"
    assert states[("list_files", -1)] == ("failed", 1)  # failed at once: no retries for a host key
    assert states[("record", -1)][0] in ("upstream_failed", "skipped", "failed")
    assert env.landed() == {} and env.ledger_records() == []
    assert remote.read_bytes() == b"untouched" and remote.stat().st_mtime == mtime

    from airflow.sdk.exceptions import AirflowFailException

    from bankgate.banks import load_banks
    from bankgate.plugins.bankgate_airflow import steps

    bank = load_banks(os.environ["BANKGATE_BANKS"])[BANK]
    plan = steps.plan_from_params({BANK: bank}, {"bank": BANK, "start_date": "2025-01-01", "end_date": "2025-01-01"})
    clear = r"host key CHANGED for 127\.0\.0\.1 port \d+: the server offered .*Nothing was transferred"
    with pytest.raises(AirflowFailException, match=clear):
        steps.list_files(bank, plan)


def test_a_missing_known_hosts_is_a_clear_configuration_error(env: Env) -> None:
    env.connect(known_hosts="")
    env.put("payroll.ach", b"x")
    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "failed" and states[("list_files", -1)] == ("failed", 1)


def test_the_remote_file_is_deleted_only_after_a_verified_landing(env: Env) -> None:
    env.configure(post_pull='"delete"')
    good = env.put("good.ach", b"good file\n" * 100)
    day = day_of(good)
    locked = env.put("locked.ach", b"the SFTP user cannot read this")
    os.chown(locked, 0, 0)
    os.chmod(locked, 0o000)  # listed and stat'ed, but the transfer fails: never landed, never verified

    run, _states = env.run(f"bank_pull__{BANK}")
    assert run.state == "failed"  # one file failed: the run says so, naming it and why
    report = xcom(run, "record", key="report")
    assert list(report["failed"]) == ["/outbound/locked.ach"]
    assert "ermission" in report["failed"]["/outbound/locked.ach"]
    assert [p["path"] for p in report["pulled"]] == ["/outbound/good.ach"]
    assert not good.exists()  # landed, verified, then deleted
    assert env.landed() == {f"{day}/good.ach": b"good file\n" * 100}
    assert locked.exists()  # no verified copy: the remote file stays
    (record,) = env.ledger_records()
    assert record["path"] == "/outbound/good.ach" and record["post_pull"] == "deleted"
    assert record["sha256"] == hashlib.sha256(b"good file\n" * 100).hexdigest()


def test_move_after_pull_and_done_markers(env: Env) -> None:
    env.configure(post_pull='{ action = "move", to = "/outbound/archive" }', stability='{ done_marker = ".done" }')
    ready = env.put("ready.txt", b"complete", age=0)
    env.put("ready.txt.done", b"", age=0)
    waiting = env.put("waiting.txt", b"no marker yet", age=0)

    run, _states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success"
    assert list(env.landed().values()) == [b"complete"]
    assert not ready.exists() and env.sshd.local("/outbound/archive/ready.txt").read_bytes() == b"complete"
    assert env.sshd.local("/outbound/archive/ready.txt.done").exists()  # the marker went with it
    assert waiting.exists()
    assert xcom(run, "record")["waiting"] == {"/outbound/waiting.txt": "waiting for its .done marker"}


def test_repull_form_pulls_a_day_again(env: Env) -> None:
    data = b"pulled twice\n"
    first = env.put("again.ach", data, age=3600)
    run, _ = env.run(f"bank_pull__{BANK}")
    assert run.state == "success" and len(env.ledger_records()) == 1

    day = day_of(first)
    conf = {"bank": BANK, "start_date": day, "end_date": day, "force": True}
    run, states = env.run("bank_repull", run_conf=conf)
    assert run.state == "success", states
    report = xcom(run, "record")
    assert [p["path"] for p in report["pulled"]] == ["/outbound/again.ach"] and report["force"] is True
    (record,) = env.ledger_records()
    assert record["forced"] is True


def test_missed_arrival_sla_alerts_through_the_webhook(env: Env, webhook: Callable[[], list[dict]]) -> None:
    env.configure(arrival_sla='{ latest = "09:00", min_files = 2 }')
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    env.sshd.put("/outbound/early.ach", b"on time", mtime=today.timestamp() - 3600)

    run, states = env.run(f"bank_sla__{BANK}", logical_date=today)
    assert run.state == "failed", states  # a missed SLA is red (it was a green run that only alerted)
    (alert,) = webhook()
    assert alert["kind"] == "arrival_sla_missed" and alert["bank"] == BANK
    assert alert["details"]["arrived"] == ["/outbound/early.ach"]
    assert alert["summary"].startswith("1 of 2 file(s) arrived by 09:00 UTC")


def test_the_post_pull_task_refuses_a_pull_the_ledger_does_not_hold_as_verified(env: Env) -> None:
    """A reported landing is not enough: delete/move needs the ledger's verified record."""
    from bankgate.banks import load_banks
    from bankgate.plugins.bankgate_airflow import batches

    env.configure(post_pull='"delete"')
    path = env.put("orphan.ach", b"x" * 100)
    bank = load_banks(os.environ["BANKGATE_BANKS"])[BANK]
    claimed = {"bank": BANK, "path": "/outbound/orphan.ach", "size": 100, "mtime": int(path.stat().st_mtime)}
    verified = {**claimed, "dir": "/outbound", "marker": None, "sha256": "0" * 64, "key": "k", "url": "file:///k"}
    result = batches.post_pull(bank, {"bank": BANK, "label": "1 file", "files": [verified]})
    [outcome] = result["files"]
    assert outcome["failed"].startswith("no verified pull of /outbound/orphan.ach in the ledger")
    assert "post_pull" not in outcome and path.exists()


def test_a_connection_cut_mid_transfer_is_retried_and_never_leaves_a_partial_object(env: Env) -> None:
    from tests.sftp.netproxy import TcpProxy

    env.configure(max_file_size='"64 MiB"', post_pull='"delete"')
    data = os.urandom(12 * 1024 * 1024 + 3)
    path = env.put("big.ach", data)
    day = day_of(path)
    # The first three connections are armed: list_files' and select_files' move far less than
    # 4 MiB, so the one cut is the transfer's; its retry (the fourth connection) goes through.
    with TcpProxy((env.sshd.host, env.sshd.port), cut_after=4 * 1024 * 1024, cuts=3) as proxy:
        pinned = f"[{env.sshd.host}]:{proxy.port} {env.sshd.host_key}\n"  # the server's key, at the proxy's port
        env.connect(known_hosts=pinned, port=proxy.port)
        run, states = env.run(f"bank_pull__{BANK}")
        assert proxy.cut_connections == 1
    assert run.state == "success", states
    assert env.landed() == {f"{day}/big.ach": data}  # exactly the bytes, once, nothing partial
    assert [i.key for i in env.store.list("bankgate-partial/")] == []
    [record] = env.ledger_records()
    assert record["sha256"] == hashlib.sha256(data).hexdigest() and record["post_pull"] == "deleted"
    assert not path.exists()  # deleted after the verified landing


def test_a_backlog_of_files_is_pulled_in_batches_in_one_run(env: Env) -> None:
    """230 files, concurrency 2: three batches (100, 100, 30), each one task per step."""
    sent = {f"f{i:03}.ach": os.urandom(200 + i) for i in range(230)}
    for name, data in sent.items():
        env.put(name, data)
    day = day_of(env.sshd.local("/outbound/f000.ach"))

    run, states = env.run(f"bank_pull__{BANK}")

    assert run.state == "success", states
    transfers = sorted(index for task, index in states if task == "pull_files.transfer")
    assert transfers == [0, 1, 2]
    assert env.landed() == {f"{day}/{name}": data for name, data in sent.items()}
    report = xcom(run, "record")
    assert len(report["pulled"]) == 230 and report["failed"] == {}
    assert len(env.ledger_records()) == 230


@pytest.mark.parametrize("where", ["s3_url", "gcs_url"])
def test_files_land_in_cloud_staging_with_their_metadata(env: Env, request: pytest.FixtureRequest, where: str) -> None:
    """To moto S3 and the GCS emulator over HTTP: a small file (one request) and one past the
    small-file size (multipart / resumable upload, then a server-side copy to the final key)."""
    from bankgate.store import open_url

    url = request.getfixturevalue(where)
    env.configure(destination=f'"{url}"', max_file_size='"64 MiB"')
    sent = {"small.ach": os.urandom(5_000), "big.txt": os.urandom(9 * 1024 * 1024 + 7)}
    paths = {name: env.put(name, data) for name, data in sent.items()}
    day = day_of(paths["small.ach"])

    run, states = env.run(f"bank_pull__{BANK}")

    assert run.state == "success", states
    store, base = open_url(url)
    for name, data in sent.items():
        key = f"{base}{day}/{name}"
        assert store.read_bytes(key) == data
        meta = store.info(key).metadata
        assert meta["bankgate-bank"] == BANK and meta["bankgate-remote-path"] == f"/outbound/{name}"
        if where != "gcs_url":  # the emulator's rewrite (the final copy) drops the new metadata
            assert meta["bankgate-sha256"] == hashlib.sha256(data).hexdigest()
    assert [i.key for i in store.list("bankgate-partial/")] == []
    pulled = [i.key for i in store.list(f"bankgate-ledger/sftp/{BANK}/pulled/")]
    assert len(pulled) == 2
    run, _states = env.run(f"bank_pull__{BANK}")
    assert xcom(run, "record")["already_pulled"] == 2


def test_a_latin1_name_does_not_stop_its_folder_and_is_pulled_and_moved_by_its_exact_bytes(env: Env) -> None:
    """A name that is not UTF-8 used to make the listing of its whole folder raise."""
    from urllib.parse import unquote_to_bytes

    env.configure(post_pull='{ action = "move", to = "/outbound/archive" }')
    latin1 = b"r\xe9sum\xe9 100%.ach"  # Latin-1, as a bank's server wrote it
    odd = env.put(os.fsdecode(latin1), b"latin-1 named\n")
    good = env.put("good.ach", b"good\n")
    day = day_of(good)

    run, states = env.run(f"bank_pull__{BANK}")

    assert run.state == "success", states
    assert env.landed() == {f"{day}/good.ach": b"good\n", f"{day}/r%E9sum%E9 100%25.ach": b"latin-1 named\n"}
    meta = env.store.info(f"{day}/r%E9sum%E9 100%25.ach").metadata
    assert unquote_to_bytes(meta["bankgate-remote-path"]) == b"/outbound/" + latin1
    report = xcom(run, "record")
    assert sorted(p["path"] for p in report["pulled"]) == ["/outbound/good.ach", "/outbound/r%E9sum%E9 100%25.ach"]
    assert not odd.exists() and not good.exists()
    archived = Path(os.fsdecode(os.fsencode(env.sshd.chroot) + b"/outbound/archive/" + latin1))
    assert archived.read_bytes() == b"latin-1 named\n"  # moved under its exact name
    records = {r["path"]: r for r in env.ledger_records()}
    assert records["/outbound/r%E9sum%E9 100%25.ach"]["raw_path"] == "/outbound/r%E9sum%E9%20100%25.ach"
    assert records["/outbound/r%E9sum%E9 100%25.ach"]["post_pull"].startswith("moved to /outbound/archive/r%E9sum%E9")


def test_subfolders_to_a_depth_and_unsafe_names_refused_the_same_way_the_core_selects(env: Env) -> None:
    """One selection function: the DAG tasks and the core's pull_bank pull exactly the same files."""
    from bankgate.banks import load_banks
    from bankgate.plugins.bankgate_airflow.connection import get_settings
    from bankgate.plugins.bankgate_airflow.steps import PullRunFailed, raise_if_failed
    from bankgate.sftp import pull_bank

    env.configure(subfolders="1", include='["20??-??-??/*.ach", "*.txt"]', stability='{ done_marker = ".done" }')
    dated = env.put("2026-03-04/a.ach", b"in a dated folder")
    env.put("2026-03-04/a.ach.done", b"")
    env.put("2026-03-04/c.txt", b"a name pattern matches at any depth")
    env.put("2026-03-04/c.txt.done", b"")
    env.put("2026-03-04/deeper/b.ach", b"below the depth")
    env.put("2026-03-04/deeper/b.ach.done", b"")
    env.put("top.ach", b"not in a dated folder")
    env.put("top.ach.done", b"")
    env.put("bell\a.txt", b"a control character")
    env.put("bell\a.txt.done", b"")
    day = day_of(dated)

    run, states = env.run(f"bank_pull__{BANK}")

    # A refused name fails the run (it was a green run that only listed it), after the rest is pulled.
    assert run.state == "failed", states
    assert states[("record", -1)][0] == "failed" and states[("pull_files.post_pull", 0)][0] == "success"
    assert env.landed() == {
        f"{day}/2026-03-04/a.ach": b"in a dated folder",
        f"{day}/2026-03-04/c.txt": b"a name pattern matches at any depth",
    }
    report = xcom(run, "record", key="report")
    unsafe = "unsafe name, not pulled: name contains NUL or a control character"
    assert report["refused"] == {"/outbound/bell\a.txt": unsafe}
    with pytest.raises(PullRunFailed) as failed:
        raise_if_failed(report)
    assert str(failed.value) == f"bank {BANK}: /outbound/bell\a.txt: refused: {unsafe}"

    bank = load_banks(os.environ["BANKGATE_BANKS"])[BANK]
    core = pull_bank(get_settings(bank.conn_id), bank, f"file://{env.tmp_path / 'core'}")
    assert sorted(p.key for p in core.pulled) == sorted(env.landed())
    assert core.refused == report["refused"]


def test_a_pull_by_a_task_names_its_run_and_links_the_staged_file_under_the_banks_day(env: Env) -> None:
    from bankgate.ledger import Root, index, links

    env.monkeypatch.delenv("BANKGATE_LEDGER", raising=False)  # the default root, beside staging
    env.put("payroll.ach", b"101 ACME\n")
    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success", states
    [record] = env.ledger_records()
    assert record["airflow"]["dag_id"] == f"bank_pull__{BANK}" and record["airflow"]["run_id"] == run.run_id
    assert record["airflow"]["task_id"] == "pull_files.verify"  # the task that verified and recorded it
    root = Root(env.store, "bankgate-ledger/")
    link = links.read(root, record["url"])
    assert link is not None
    assert (link.kind, link.owner, link.name, link.day) == ("pull", BANK, "payroll.ach", record["day"])
    assert env.store.info(root.key(link.record)) is not None  # the link names the pull record
    entry = index.read(root, BANK, record["day"])[record["url"]]
    assert (entry.state, entry.kind, entry.size, entry.sha256) == ("staged", "pull", 9, record["sha256"])
