"""What a bank run reports and stores: a report even when a run-level step fails, one XCom per
task, the re-pull form's refusals and its run notes."""

from __future__ import annotations

from tests.dags import helpers as e2e
from tests.dags.helpers import BANK, Env, xcom


def test_a_run_whose_listing_fails_still_reports_what_failed(env: Env) -> None:
    wrong = env.sshd.client_key.with_suffix(".pub").read_text().split()[:2]
    env.connect(known_hosts=f"[{env.sshd.host}]:{env.sshd.port} {wrong[0]} {wrong[1]}\n")
    env.put("payroll.ach", b"untouched")

    run, states = env.run(f"bank_pull__{BANK}")

    assert run.state == "failed"
    assert states[("record", -1)][0] == "failed"  # it ran, reported, then failed the run
    report = xcom(run, "record", key="report")
    assert report["bank"] == BANK and report["pulled"] == []
    assert list(report["step_failed"]) == ["list_files"]
    assert "host key CHANGED" in report["step_failed"]["list_files"]


def test_a_repull_whose_plan_fails_reports_it_in_one_sentence(env: Env) -> None:
    conf = {"bank": BANK, "start_date": "2026-03-09", "end_date": "2026-03-02", "force": True}

    run, states = env.run("bank_repull", run_conf=conf)

    assert run.state == "failed"
    assert states[("plan", -1)] == ("failed", 1)  # a form mistake is not retried
    report = xcom(run, "record", key="report")
    assert report["step_failed"] == {
        "plan": "bank_repull form: the last day (2026-03-02) is before the first day (2026-03-09)."
    }
    assert report["bank"] == BANK


def test_each_task_stores_one_result_in_xcom(env: Env) -> None:
    """TaskFlow stores a returned dict key by key too unless told not to: a report three ways."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    env.put("payroll.ach", b"101 ACME\n")
    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success", states

    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id)).all()
        keys: dict[str, set[str]] = {}
        for row in rows:
            keys.setdefault(row.task_id, set()).add(row.key)
    assert keys == {
        "plan": {"return_value"},
        "list_files": {"return_value"},
        "select_files": {"return_value", "selection"},
        "pull_files.transfer": {"return_value"},
        "pull_files.verify": {"return_value"},
        "pull_files.post_pull": {"return_value"},
        "record": {"return_value", "report"},
    }


def test_a_repull_run_notes_its_bank_and_days_and_names_files_gone_from_the_server(env: Env) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    env.configure(post_pull='"delete"')
    gone = env.put("gone.ach", b"pulled, then deleted by the post-pull action\n", age=3600)
    day = e2e.day_of(gone)
    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success", states and not gone.exists()
    env.put("new.ach", b"arrived later the same day\n", age=1800)

    conf = {"bank": BANK, "start_date": day, "end_date": day, "force": True}
    run, states = env.run("bank_repull", run_conf=conf)

    assert run.state == "success", states
    report = xcom(run, "record")
    (staged,) = [key for key in env.landed() if key.endswith("/gone.ach")]
    assert report["gone_from_server"] == {"/outbound/gone.ach": f"file://{env.staging}/{staged}"}
    with create_session() as session:
        note = session.get(DagRun, run.id).note
    assert note == (
        f"Re-pull of bank {BANK}, {day} (bank-local days; forced: files already pulled are pulled again)\n"
        f"Found 1 file(s): 1 pulled; missing from the server: 1 (/outbound/gone.ach), pulled before and moved "
        "or deleted since: reprocess them with bank_reprocess."
    )


def test_the_repull_form_preselects_no_bank_and_the_docs_render_patterns_as_typed(env: Env) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from markdown_it import MarkdownIt

    bag = DagBag(dag_folder=str(e2e.DAGS))
    assert not bag.dags["bank_repull"].params.get_param("bank").has_value  # no default
    html = MarkdownIt("commonmark").enable("table").render(bag.dags[f"bank_pull__{BANK}"].doc_md)
    table = html[html.index("<table>") : html.index("</table>")]
    assert "<code>*.tmp</code>" in table and "<em>" not in table  # exclude = ["*.tmp"]
    assert "<code>*.ach</code>, <code>*.txt</code>" in html
    assert "unpauses it by default" in bag.dags["bank_repull"].doc_md


def test_a_repull_tells_a_latin1_file_still_there_from_one_gone(env: Env) -> None:
    """The ledger keeps a name's text form (``%E9``) and the listing its exact bytes: a file
    still on the server must be matched as present, whatever its encoding."""
    import os

    env.configure(post_pull='"keep"')
    kept = env.put(os.fsdecode(b"caf\xe9.ach"), b"still on the server\n", age=3600)
    gone = env.put(os.fsdecode(b"d\xe9j\xe0-vu.ach"), b"removed after the pull\n", age=3600)
    day = e2e.day_of(kept)
    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success", states and len(xcom(run, "record")["pulled"]) == 2
    gone.unlink()

    run, states = env.run("bank_repull", run_conf={"bank": BANK, "start_date": day, "end_date": day, "force": True})

    assert run.state == "success", states
    report = xcom(run, "record")
    assert list(report["gone_from_server"]) == ["/outbound/d%E9j%E0-vu.ach"]
    assert [p["path"] for p in report["pulled"]] == ["/outbound/caf%E9.ach"]
