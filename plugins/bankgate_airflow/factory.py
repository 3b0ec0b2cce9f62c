"""Builds the bank DAGs from the bank config with the Airflow 3 TaskFlow API.

- ``bank_pull__<bank>``: on the bank's cron and time zone, plan the run's window, list the
  remote directories, keep stable files not pulled yet, then per batch of files (a task
  group mapped over batches, at most the bank's concurrency transferring at once; see
  ``batches``) transfer, verify (and record in the pull ledger), apply the post-pull action;
  a last task reports the run. Trigger it with ``force`` to pull the run's
  window again.
- ``bank_repull``: a form (bank, start date, end date, force) to re-pull whole days.
- ``bank_sla__<bank>``: at the bank's arrival deadline on each schedule day, checks that the
  expected files arrived; when they did not, alerts through the notifier and fails.
- ``bank_reprocess``: a form (files by URL, or a bank, days and a state) to process files
  again from their archived or quarantined originals (``reprocess``).

Parsing a DAG file only reads the TOML config: no connection, variable or network access, and
the transfer code is imported inside the task bodies (``steps``), so parsing stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import (
    DAG,
    CronTriggerTimetable,
    MultipleCronTriggerTimetable,
    Param,
    TriggerRule,
    dag,
    get_current_context,
    task,
    task_group,
)

from bankgate import settings
from bankgate.banks import BankConfig, MoveTo, PostPull, StabilityRule, Unchanged, load_banks
from bankgate.calendar import DAYS

__all__ = ["build_bank_dags", "build_reprocess_dag", "build_repull_dag", "default_banks_path"]

START = datetime(2025, 1, 1)
DEFAULT_ARGS: dict[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=20),
}
LIST_TIMEOUT = timedelta(minutes=15)
TRANSFER_TIMEOUT = timedelta(hours=3)


def one_result(**kwargs: Any) -> Any:
    """Airflow's ``@task`` whose returned dict is one XCom. TaskFlow infers ``multiple_outputs``
    from a ``dict`` return type and then also stores every key as its own XCom, so a run's
    report showed up three times in Browse -> XComs."""
    return task(multiple_outputs=False, **kwargs)


RUN_STEPS = ("plan", "list_files", "select_files")  # a failure here leaves no file to report


@contextmanager
def noting_failure() -> Iterator[None]:
    """Keep a failing run-level step's reason as its ``error`` XCom, for ``record``'s report."""
    try:
        yield
    except Exception as exc:
        from bankgate.plugins.bankgate_airflow import steps

        get_current_context()["ti"].xcom_push(key="error", value=steps.failure_summary(exc))
        raise


def default_banks_path() -> Path:
    """``BANKGATE_BANKS``, required (``bankgate.settings.banks_path``): the DAG file's import
    error says what to set."""
    return settings.banks_path()


UNPAUSE_NOTE = (
    "Triggering a DAG from the UI unpauses it by default (the trigger form's *unpause* switch): a\n"
    "manual run of a paused bank also starts its schedule. Switch it off to run once and stay paused."
)


def _literals(patterns: tuple[str, ...]) -> str:
    """Patterns as Markdown code, so ``*.tmp`` shows as typed instead of as emphasis."""
    return ", ".join("`" + p.replace("|", "\\|") + "`" for p in patterns)


def _describe_rule(rule: StabilityRule) -> str:
    if isinstance(rule, Unchanged):
        return f"size and mtime unchanged for {rule.seconds:g} s"
    return f"a marker `<name>{rule.suffix}` beside the file"


def _describe_action(action: PostPull) -> str:
    return f"move to `{action.folder}`" if isinstance(action, MoveTo) else type(action).__name__.lower()


def _doc(bank: BankConfig, source: Path) -> str:
    stability = " and ".join(_describe_rule(rule) for rule in bank.stability) or "at once (no stability rule)"
    post = _describe_action(bank.post_pull)
    sla = (
        "; ".join(
            f"{e.title or 'any file'}: {e.min_files} by {e.by:%H:%M} {e.tz} ({e.days} days)" for e in bank.expectations
        )
        + (f"; holidays: {bank.calendar}" if bank.calendar else "")
        if bank.expectations
        else "none"
    )
    rows = [
        ("connection", f"`{bank.conn_id}` (sftp; host key pinned by `extra.known_hosts`)"),
        ("remote directories", ", ".join(f"`{d}`" for d in bank.remote_dirs)),
        ("subfolders", f"up to {bank.subfolders} level(s) below them" if bank.subfolders else "not pulled"),
        ("include / exclude", f"{_literals(bank.include)} / {_literals(bank.exclude) or '-'}"),
        ("schedule", f"`{bank.cron}` ({bank.timezone})"),
        ("destination", f"`{bank.destination}<file date>/<name>`"),
        ("stable when", stability),
        ("after a verified pull", post),
        ("arrival SLA", sla),
        ("largest file", f"{bank.max_file_size:,} bytes"),
        ("transfers at once", f"{bank.concurrency} (batches of up to 100 files or 256 MiB, one SSH session each)"),
        ("lookback", f"{bank.lookback_seconds // 3600} h before the run's interval"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"""### {bank.name}: pull files from the bank's SFTP server into staging

{bank.description}

| setting | value |
|---|---|
{table}

A run selects files modified in its interval (the previous fire time of the schedule up to
this one), widened back by the lookback so a file skipped earlier (still growing, no marker
yet) is pulled later; the pull ledger keeps a file from being pulled twice. Trigger with
**force** to pull this run's interval again; use **bank_repull** for a range of days.

{UNPAUSE_NOTE}

Config: `{source}` (bank `{bank.name}`).
"""


def _bank_tags(bank: BankConfig) -> list[str]:
    return ["bankgate", "bank-pull", f"bank:{bank.name}", *bank.tags]


def _pull_tasks(banks: dict[str, BankConfig], plan: Any, concurrency: int, bank_name: str = "") -> None:
    """plan -> list_files -> select_files -> pull_files (a task group mapped over batches of
    files: transfer -> verify -> post_pull) -> record."""
    list_files, select_files = _choosing_tasks(banks)
    pull_files = _batch_group(banks, concurrency)
    record = _record_task(banks, bank_name)
    listing = list_files(plan)
    selected = select_files(plan, listing)
    done = pull_files.expand(batch=selected)
    record(plan, listing, done) << selected


def _choosing_tasks(banks: dict[str, BankConfig]) -> tuple[Any, Any]:
    """The run-level tasks that choose the files: ``list_files`` and ``select_files``."""

    @one_result(execution_timeout=LIST_TIMEOUT)
    def list_files(plan: dict[str, Any]) -> dict[str, Any]:
        """List the remote directories: matching files modified in the run's window, with their
        done markers; files over the bank's size limit are set aside."""
        from bankgate.plugins.bankgate_airflow import steps

        with noting_failure():
            return steps.list_files(banks[plan["bank"]], plan)

    @one_result(execution_timeout=LIST_TIMEOUT)
    def select_files(plan: dict[str, Any], listing: dict[str, Any]) -> list[dict[str, Any]]:
        """Keep the stable files not pulled yet (every stable one when forced) and group them
        into batches (see ``batches.make_batches``). What waits and why goes to the
        ``selection`` XCom for the report."""
        from bankgate.plugins.bankgate_airflow import batches, steps

        bank = banks[plan["bank"]]
        with noting_failure():
            selection = steps.select_files(bank, plan, listing)
        get_current_context()["ti"].xcom_push(key="selection", value=selection)
        return batches.make_batches(selection["selected"], bank.concurrency)

    return list_files, select_files


def _label(batch: dict[str, Any]) -> None:
    get_current_context()["batch_label"] = batch["label"]  # type: ignore[typeddict-unknown-key]


def _batch_group(banks: dict[str, BankConfig], concurrency: int) -> Any:
    """``pull_files``: the task group mapped over batches, at most ``concurrency`` transferring."""

    @one_result(
        max_active_tis_per_dagrun=concurrency,
        execution_timeout=TRANSFER_TIMEOUT,
        map_index_template="{{ batch_label }}",
    )
    def transfer(batch: dict[str, Any]) -> dict[str, Any]:
        """Claim each file in the pull ledger and stream it into a temporary key outside the
        watched prefix, hashing (SHA-256) and counting on the way; a dropped link is retried."""
        from bankgate.plugins.bankgate_airflow import batches

        _label(batch)
        return batches.transfer(banks[batch["bank"]], batch)

    @one_result(execution_timeout=TRANSFER_TIMEOUT, map_index_template="{{ batch_label }}")
    def verify(batch: dict[str, Any]) -> dict[str, Any]:
        """Check each staged copy (size, SHA-256 read back) against the bytes read; only then put
        it on its final staging key with its metadata and record the pull in the ledger."""
        from bankgate.plugins.bankgate_airflow import batches

        _label(batch)
        return batches.verify(banks[batch["bank"]], batch)

    @one_result(execution_timeout=LIST_TIMEOUT, map_index_template="{{ batch_label }}")
    def post_pull(batch: dict[str, Any]) -> dict[str, Any]:
        """Keep, delete or move each remote file, only for a pull the ledger holds as verified."""
        from bankgate.plugins.bankgate_airflow import batches

        _label(batch)
        return batches.post_pull(banks[batch["bank"]], batch)

    @task_group
    def pull_files(batch: dict[str, Any]) -> Any:
        """One batch of files: transfer -> verify -> post_pull. A failure stops this batch only."""
        return post_pull(verify(transfer(batch)))

    return pull_files


def _record_task(banks: dict[str, BankConfig], bank_name: str) -> Any:
    """``record``: the run's report, after everything else, whatever happened to it."""

    @one_result(trigger_rule=TriggerRule.ALL_DONE, retries=0)  # reports; retrying cannot change a report
    def record(plan: dict[str, Any] | None, listing: dict[str, Any] | None, done: Any) -> dict[str, Any]:
        """Report the run (pulled, waiting, skipped, too large, failed and why, or the step that
        failed before any file was chosen); fail it if anything failed."""
        from bankgate.plugins.bankgate_airflow import batches, steps

        context = get_current_context()
        ti = context["ti"]
        name = plan["bank"] if plan else bank_name or str(context["params"].get("bank"))
        selection = ti.xcom_pull(task_ids="select_files", key="selection")
        errors = {step: ti.xcom_pull(task_ids=step, key="error") for step in RUN_STEPS}
        step_failed = {step: why for step, why in errors.items() if why}
        outputs = zip(RUN_STEPS, (plan, listing, selection), strict=True)
        missing = next((step for step, output in outputs if output is None), None)
        if missing and not step_failed:  # killed or timed out before it could say why
            step_failed[missing] = "ended without a result or a reason (killed or timed out?); see its log"
        # A mapped task group's output arrives as the one dict when it ran once; batches whose
        # tasks failed have no result and their files are reported as failed.
        results = batches.file_results([done] if isinstance(done, dict) else list(done or []))
        report = steps.record(name, banks.get(name), plan, listing, selection, results, step_failed=step_failed)
        ti.xcom_push(key="report", value=report)  # kept when the run fails below
        steps.raise_if_failed(report)
        return report

    return record


def bank_pull_dag(bank: BankConfig, banks: dict[str, BankConfig], source: Path) -> DAG:
    @dag(
        dag_id=f"bank_pull__{bank.name}",
        description=(bank.description or f"Pull {bank.name}'s files into staging")[:200],
        schedule=CronTriggerTimetable(bank.cron, timezone=bank.timezone),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=_bank_tags(bank),
        doc_md=_doc(bank, source),
        default_args={**DEFAULT_ARGS, "owner": bank.owner},
        params={
            "force": Param(
                False,
                type="boolean",
                title="Force re-pull",
                description="Pull every stable file in this run's interval again, even if already pulled.",
            )
        },
    )
    def pull_bank() -> None:
        @one_result()
        def plan() -> dict[str, Any]:
            """This run's window of remote modification times (see the DAG docs)."""
            from bankgate.plugins.bankgate_airflow import steps

            with noting_failure():
                return steps.plan_from_context(bank, get_current_context())

        _pull_tasks(banks, plan(), bank.concurrency, bank.name)

    return pull_bank()


def repull_dag(banks: dict[str, BankConfig], source: Path) -> DAG:
    names = sorted(banks)

    @dag(
        dag_id="bank_repull",
        description="Re-pull a bank's files for a range of days (a form in the UI)",
        schedule=None,
        start_date=START,
        catchup=False,
        tags=["bankgate", "bank-pull", "backfill"],
        doc_md=f"""### Re-pull a bank's files for a range of days

Pick the bank and the first and last bank-local day; every stable file whose remote
modification time falls in those days is pulled again (**force**, the default) or only the
ones not pulled yet (force off). Files land on the same keys as their first pull, so a re-pull
replaces rather than duplicates. Files already deleted or moved on the server by the post-pull
action cannot be pulled again from there: the run's report lists them under
`gone_from_server` with where their pulled copy went; reprocess those from the archive.
A last day before the first day is refused. Each run's note names the bank and the days.

{UNPAUSE_NOTE}

Banks: {", ".join(names)} (config `{source}`).
""",
        default_args={**DEFAULT_ARGS, "owner": "bankgate"},
        max_active_runs=1,
        params={
            # No default: a preselected bank is a re-pull of the wrong bank waiting to happen.
            "bank": Param(type="string", enum=names, title="Bank", description="Required: the bank to re-pull"),
            "start_date": Param(type="string", format="date", title="First day", description="Bank-local date"),
            "end_date": Param(type="string", format="date", title="Last day", description="Bank-local, inclusive"),
            "force": Param(True, type="boolean", title="Force", description="Pull again files already pulled"),
        },
    )
    def bank_repull() -> None:
        @one_result()
        def plan() -> dict[str, Any]:
            """The chosen bank and days, checked."""
            from bankgate.plugins.bankgate_airflow import steps

            with noting_failure():
                return steps.plan_from_params(banks, get_current_context()["params"])

        _pull_tasks(banks, plan(), min(bank.concurrency for bank in banks.values()))

    return bank_repull()


def sla_crons(bank: BankConfig) -> list[str]:
    """One cron per cut-off: on the pull's days for ``arrival_sla``, on weekdays for business
    days (the task says "no files expected" on a holiday), every day for ``daily``."""
    _minute, _hour, *schedule_days = bank.schedule.fields
    days = {"schedule": " ".join(schedule_days), "business": "* * 1-5", "daily": "* * *"}
    return list(dict.fromkeys(f"{e.by.minute} {e.by.hour} {days[e.days]}" for e in bank.expectations))


def sla_dag(bank: BankConfig, source: Path) -> DAG:
    """Runs at each cut-off; fails when an expected file has not arrived (see ``sla``, which
    also says why this is a failing task rather than an Airflow Deadline Alert)."""
    crons, zone = sla_crons(bank), bank.sla_timezone
    cutoffs = sorted({f"{e.by:%H:%M}" for e in bank.expectations})

    @dag(
        dag_id=f"bank_sla__{bank.name}",
        description=f"Alert when {bank.name}'s files have not arrived by {', '.join(cutoffs)} {zone}",
        schedule=(
            CronTriggerTimetable(crons[0], timezone=zone)
            if len(crons) == 1
            else MultipleCronTriggerTimetable(*crons, timezone=zone)
        ),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=[*_bank_tags(bank), "sla"],
        doc_md=_sla_doc(bank, source),
        default_args={**DEFAULT_ARGS, "owner": bank.owner},
        params={
            "day": Param(
                None,
                type=["null", "string"],
                format="date",
                title="Day to check",
                description=f"A day (YYYY-MM-DD, {zone}) whose every expectation is checked; empty: the run's own.",
            )
        },
    )
    def check_sla() -> None:
        @one_result(execution_timeout=LIST_TIMEOUT)
        def check_arrivals() -> dict[str, Any]:
            """Count the day's arrivals by each cut-off; alert and fail if any is missed."""
            from bankgate.plugins.bankgate_airflow import sla

            context = get_current_context()
            result = sla.check_arrivals(bank, context)
            context["ti"].xcom_push(key="result", value=result)  # kept when the check fails below
            sla.raise_if_missed(result)
            return result

        check_arrivals()

    return check_sla()


def _sla_doc(bank: BankConfig, source: Path) -> str:
    """The SLA DAG's page: what is expected, when, and what a miss does."""
    expected = "\n".join(
        f"- {e.title or 'any file'}: {e.min_files} file(s) matching `{e.pattern}` by {e.by:%H:%M} {e.tz}, "
        f"{DAYS[e.days]}"
        for e in bank.expectations
    )
    return f"""### {bank.name}: arrival SLA

Expected (holiday calendar: {bank.calendar or "none, weekends only"}):

{expected}

At each cut-off, the files that arrived for the day (pulled, per the pull ledger, or waiting on
the server, by their modification time) are counted from midnight to the cut-off. A weekend or
holiday expects nothing (a file sent then is named on the next due day as early, not counted).
A miss raises an alert through the notifier
(always the task log, plus the webhook (`BANKGATE_ALERT_WEBHOOK`) or SNS topic
(`BANKGATE_ALERT_SNS_TOPIC`) when set) and **fails the run**, naming what is missing and what
came late (with its time); the run's note says the same.

To check a past day, trigger it with the form's **day**. Config: `{source}`.
"""


def reprocess_dag(banks: dict[str, BankConfig], source: Path) -> DAG:
    """``bank_reprocess``: the form (or the Files view) selects files; see ``reprocess``."""
    names = sorted(banks)

    @dag(
        dag_id="bank_reprocess",
        description="Reprocess files from their archived or quarantined originals (a form in the UI)",
        schedule=None,
        start_date=START,
        catchup=False,
        tags=["bankgate", "reprocess"],
        doc_md=_reprocess_doc(names, source),
        default_args={**DEFAULT_ARGS, "owner": "bankgate"},
        max_active_runs=1,
        params=_reprocess_params(names),
    )
    def bank_reprocess() -> None:
        _reprocess_tasks(names)

    return bank_reprocess()


def _reprocess_doc(names: list[str], source: Path) -> str:
    return f"""### Reprocess files

Give the files' staged URLs (one per line; the Files view fills them in), **or** a bank, a
first and last bank-local day and a state (default: the quarantined files of those days).
Each file's original is copied back from the archive or quarantine into staging under its
original key and processed again, forced: after fixing a route or a waiver, a quarantined
file is processed. Files a bank's server deleted or moved are reprocessed from the archive;
no re-pull is needed. The run reports per file what happened (the `report` XCom and the
run's note) and fails if any file ends quarantined, failed or skipped.

{UNPAUSE_NOTE}

Banks: {", ".join(names)} (config `{source}`).
"""


def _reprocess_params(names: list[str]) -> dict[str, Any]:
    """The form: files by URL, or a bank, its days and a state."""
    from bankgate.plugins.bankgate_airflow.reprocess import STATE_CHOICES

    return {
        "urls": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Files",
            description="Staged URLs, one per line. When given, the bank and days below are ignored.",
        ),
        "bank": Param(None, type=["null", "string"], enum=[None, *names], title="Bank"),
        "start_date": Param(None, type=["null", "string"], format="date", title="First day"),
        "end_date": Param(None, type=["null", "string"], format="date", title="Last day", description="Inclusive"),
        "state": Param("quarantined", type="string", enum=list(STATE_CHOICES), title="Files in state"),
    }


def _reprocess_tasks(names: list[str]) -> None:
    """select -> reprocess_files -> record."""

    @one_result()
    def select() -> dict[str, Any]:
        """The files the form selects (a form mistake fails at once, without retries)."""
        from bankgate.plugins.bankgate_airflow import reprocess

        with noting_failure():
            return reprocess.select(names, get_current_context()["params"])

    @one_result()
    def reprocess_files(selection: dict[str, Any]) -> list[dict[str, Any]]:
        """Each original back into staging, processed again with force."""
        from bankgate.plugins.bankgate_airflow import reprocess

        with noting_failure():
            return reprocess.reprocess(selection["urls"])

    @one_result(trigger_rule=TriggerRule.ALL_DONE, retries=0)  # reports; retrying cannot change a report
    def record(selection: dict[str, Any] | None, results: list[dict[str, Any]] | None) -> dict[str, Any]:
        """Per file what happened; fail the run if any did not end processed."""
        from bankgate.plugins.bankgate_airflow import reprocess

        ti = get_current_context()["ti"]
        outputs = {"select": selection, "reprocess_files": results}
        first = next((step for step, output in outputs.items() if output is None), None)  # the rest never ran
        why = first and (ti.xcom_pull(task_ids=first, key="error") or "ended without a result; see its log")
        step_failed = {first: str(why)} if first else {}
        summary = reprocess.report(selection, results, step_failed=step_failed)
        ti.xcom_push(key="report", value=summary)  # kept when failing below
        reprocess.raise_if_failed(summary)
        return summary

    chosen = select()
    record(chosen, reprocess_files(chosen))


def build_reprocess_dag(path: str | Path | None = None) -> DAG:
    """The ``bank_reprocess`` form DAG over every configured bank."""
    source = Path(path) if path else default_banks_path()
    return reprocess_dag(load_banks(source), source)


def build_bank_dags(path: str | Path | None = None) -> dict[str, DAG]:
    """The ``bank_pull__<bank>`` and ``bank_sla__<bank>`` DAGs, by dag_id. A bad config raises
    ConfigError, which Airflow shows as the DAG file's import error naming the bank and key."""
    source = Path(path) if path else default_banks_path()
    banks = load_banks(source)
    dags: dict[str, DAG] = {}
    for bank in banks.values():
        dags[f"bank_pull__{bank.name}"] = bank_pull_dag(bank, banks, source)
        if bank.expectations:
            dags[f"bank_sla__{bank.name}"] = sla_dag(bank, source)
    return dags


def build_repull_dag(path: str | Path | None = None) -> DAG:
    """The ``bank_repull`` form DAG over every configured bank."""
    source = Path(path) if path else default_banks_path()
    return repull_dag(load_banks(source), source)
