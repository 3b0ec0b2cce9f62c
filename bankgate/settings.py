"""Every ``BANKGATE_*`` environment variable: its name, type, default and meaning, in one table.

This is the only module that reads them (``tests/test_layers.py`` proves it). Everything else
takes explicit arguments: the parsers get search paths and limits, the pipeline a
``PipelineConfig``, the notifier its channels, and the core fills them in from here. An explicit
argument always beats the environment; a variable that is unset or blank means its default.
Booleans are parsed once (``parse_bool``). ``bankgate settings`` prints the table (as text,
JSON or an env file for deployment templates), and the README's settings table is generated
from it (``markdown_table``; a test keeps the two in sync).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any, Literal

from bankgate.ledger import LEASE_SECONDS, MAX_FAILURES
from bankgate.parsers.insurance.limits import Limits
from bankgate.parsers.schema import Problems, SchemaError

Kind = Literal["text", "url", "path", "paths", "secret", "int", "number", "bool", "json"]
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "none"})
DEFAULT_SCRATCH_BUDGET = 512 << 20


class ConfigError(SchemaError):
    """The configuration is unusable; the message says which setting and why."""


#: The batch hand-off's defaults (``bankgate.batch``): files above 1 GiB go to the runner; a job
#: not started 30 minutes after its hand-off is resubmitted; a hand-off's lease frees the object
#: after six hours whatever became of its job.
BATCH_THRESHOLD = 1 << 30
BATCH_LEASE_SECONDS = 6 * 3600
BATCH_START_SECONDS = 30 * 60


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # the environment variable
    kind: Kind
    default: Any  # None: no default (unset means "not configured")
    doc: str  # one line: what it is for
    group: str
    key: str | None = None  # the PipelineConfig key it sets (``PipelineConfig.from_env``)

    def parse(self, raw: str) -> Any:
        """The typed value of ``raw`` (already stripped, not empty); ConfigError names the variable."""
        try:
            if self.kind == "int":
                return int(raw)
            if self.kind == "number":
                return float(raw)
            if self.kind == "bool":
                return parse_bool(raw)
            if self.kind == "json":
                return json.loads(raw)
        except ValueError as exc:
            if self.kind == "json":
                raise ConfigError(f"{self.name} is not JSON: {exc}") from None
            what = {"int": "a whole number", "number": "a number", "bool": f"a boolean ({exc})"}[self.kind]
            raise ConfigError(f"{self.name}: not {what}: {raw!r}") from None
        if self.kind == "paths":
            return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip())
        if self.kind == "path":
            return Path(raw).expanduser()
        return raw

    def shown_default(self) -> str:
        if self.default is None:
            return ""
        if self.kind == "bool":
            return "true" if self.default else "false"
        if self.kind == "json":
            return json.dumps(self.default)
        return str(self.default)


def parse_bool(raw: str) -> bool:
    """The one notion of true and false for every boolean setting."""
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"use one of {', '.join(sorted(TRUE_WORDS))} or {', '.join(sorted(FALSE_WORDS))}")


_PDF_DOCS = {
    "max_bytes": "largest PDF read, in bytes; a larger file is refused",
    "max_pages": "most pages in a PDF, checked before any page is read",
    "memory_mib": "address space of the PDF worker process, in MiB (RLIMIT_AS)",
    "cpu_seconds": "CPU time of the PDF worker, in seconds (RLIMIT_CPU)",
    "wall_seconds": "wall-clock time of the PDF worker, OCR included, in seconds",
    "ocr_pages": "image-only pages OCR'd per file; the rest are reported",
    "ocr_dpi": "rendering resolution for OCR, in dots per inch",
}
PDF_PREFIX = "BANKGATE_PDF_"

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "BANKGATE_CONFIG",
        "path",
        None,
        "pipeline config TOML file; when set, the pipeline variables below are not read",
        "pipeline",
    ),
    Setting(
        "BANKGATE_STAGING",
        "url",
        None,
        "staging bucket or directory the pipeline watches (required without BANKGATE_CONFIG)",
        "pipeline",
        key="staging",
    ),
    Setting(
        "BANKGATE_ARCHIVE",
        "url",
        None,
        "URL prefix for verified originals (required without BANKGATE_CONFIG)",
        "pipeline",
        key="archive",
    ),
    Setting(
        "BANKGATE_QUARANTINE",
        "url",
        None,
        "URL prefix for rejected originals and their .error.json (required without BANKGATE_CONFIG)",
        "pipeline",
        key="quarantine",
    ),
    Setting(
        "BANKGATE_LEDGER",
        "url",
        None,
        "ledger root URL prefix: processing, pull and push records (required without BANKGATE_CONFIG; same on Airflow)",
        "pipeline",
        key="ledger",
    ),
    Setting(
        "BANKGATE_ROUTES",
        "json",
        {},
        "file type -> destination URL or {destination, format, allow}, as JSON; needs a '*' route",
        "pipeline",
        key="routes",
    ),
    Setting(
        "BANKGATE_WAIVERS",
        "json",
        {},
        "staged-URL prefix -> rule codes waived there, as JSON",
        "pipeline",
        key="waivers",
    ),
    Setting(
        "BANKGATE_WATCHED_PREFIX",
        "text",
        "inbound/",
        "prefix of the staging bucket whose new objects are processed",
        "pipeline",
        key="watched_prefix",
    ),
    Setting(
        "BANKGATE_SCRATCH_ROOT",
        "path",
        None,
        "local directory for unpacking and decrypting (default: the system's temporary directory)",
        "pipeline",
        key="scratch_root",
    ),
    Setting(
        "BANKGATE_SCRATCH_BUDGET",
        "int",
        DEFAULT_SCRATCH_BUDGET,
        "bytes of scratch space one file may use while unpacked",
        "pipeline",
        key="scratch_budget_bytes",
    ),
    Setting(
        "BANKGATE_LENIENT",
        "bool",
        False,
        "report problems as warnings and keep the records instead of quarantining the file",
        "pipeline",
        key="lenient",
    ),
    Setting(
        "BANKGATE_LEASE_SECONDS",
        "int",
        LEASE_SECONDS,
        "a processing claim older than this belongs to a dead worker",
        "pipeline",
        key="lease_seconds",
    ),
    Setting(
        "BANKGATE_MAX_FAILURES",
        "int",
        MAX_FAILURES,
        "failed attempts of one object version before it is quarantined",
        "pipeline",
        key="max_failures",
    ),
    Setting(
        "BANKGATE_PGP_KEYS",
        "secret",
        None,
        "armored PGP private key(s) for decryption: the text, file:PATH, env:NAME or secretsmanager:NAME",
        "pipeline",
        key="pgp_keys",
    ),
    Setting(
        "BANKGATE_PGP_PASSPHRASE",
        "secret",
        None,
        "passphrase of BANKGATE_PGP_KEYS, as a secret reference",
        "pipeline",
        key="pgp_passphrase",
    ),
    Setting(
        "BANKGATE_PGP_VERIFY_KEYS",
        "secret",
        None,
        "armored public key(s) a decrypted file's signature must verify against",
        "pipeline",
        key="pgp_verify_keys",
    ),
    Setting(
        "BANKGATE_BANKS",
        "path",
        None,
        "bank config TOML; required by the pull DAGs (no fallback), read by the pipeline for banks' allow lists",
        "pulls",
        key="banks",
    ),
    Setting("BANKGATE_ALERT_WEBHOOK", "url", None, "http(s) URL alerts are POSTed to as JSON", "pulls"),
    Setting("BANKGATE_ALERT_SNS_TOPIC", "text", None, "SNS topic ARN alerts are published to", "pulls"),
    # batch: big files handed to AWS Batch or a Cloud Run job (bankgate.batch)
    Setting("BANKGATE_BATCH_JOB_QUEUE", "text", None, "AWS Batch job queue for big files; unset: no hand-off", "batch"),
    Setting("BANKGATE_BATCH_JOB_DEFINITION", "text", None, "AWS Batch job definition of the runner", "batch"),
    Setting(
        "BANKGATE_CLOUD_RUN_JOB",
        "text",
        None,
        "Cloud Run job (projects/P/locations/L/jobs/J) big GCS files are handed to; unset: no hand-off",
        "batch",
    ),
    Setting(
        "BANKGATE_BATCH_THRESHOLD",
        "int",
        BATCH_THRESHOLD,
        "files above this many bytes go to the batch runner",
        "batch",
    ),
    Setting(
        "BANKGATE_BATCH_LEASE_SECONDS",
        "int",
        BATCH_LEASE_SECONDS,
        "the hand-off lease: frees the object whatever became of its job",
        "batch",
    ),
    Setting(
        "BANKGATE_BATCH_START_SECONDS",
        "int",
        BATCH_START_SECONDS,
        "a handed-off job still waiting (or ended without claiming) after this long is resubmitted",
        "batch",
    ),
    # push: the presign API (bankgate.lambdas.presign, bankgate.push)
    Setting(
        "BANKGATE_CLIENTS",
        "path",
        None,
        "TOML file with the [clients.<id>] tables of client pushes (default: the BANKGATE_BANKS file)",
        "push",
    ),
    Setting(
        "BANKGATE_CLIENT_CLAIM",
        "text",
        "client_id",
        "the authorizer claim (JWT) or context key (Lambda authorizer) naming the pushing client",
        "push",
    ),
    Setting(
        "BANKGATE_PUSH_ROLE_ARN",
        "text",
        None,
        "role a script's scoped credentials assume (STS, with a one-key session policy); unset: none offered",
        "push",
    ),
    Setting(
        "BANKGATE_LAYOUTS",
        "paths",
        (),
        "directories of user fixed-width layouts, searched before the shipped ones (os.pathsep-separated)",
        "parsers",
    ),
    Setting(
        "BANKGATE_TEMPLATES",
        "paths",
        (),
        "directories of user carrier templates, searched before the shipped ones (os.pathsep-separated)",
        "parsers",
    ),
    Setting(
        "BANKGATE_TESSERACT",
        "text",
        "tesseract",
        "the tesseract binary for OCR of scans; off (or any false word) disables OCR",
        "parsers",
    ),
    *(
        Setting(
            PDF_PREFIX + f.name.upper(),
            "int" if f.type in ("int", int) else "number",
            getattr(Limits(), f.name),
            _PDF_DOCS[f.name],
            "parsers",
        )
        for f in fields(Limits)
    ),
)
BY_NAME = {s.name: s for s in SETTINGS}


def _raw(name: str, env: Mapping[str, str] | None) -> str:
    """The stripped text of a variable; the one read of the process environment."""
    if name not in BY_NAME:
        raise KeyError(f"{name} is not a bankgate setting (see bankgate/settings.py)")
    return (os.environ if env is None else env).get(name, "").strip()


def value(name: str, explicit: Any = None, env: Mapping[str, str] | None = None) -> Any:
    """``explicit`` if given, else the variable's typed value, else its default."""
    if explicit is not None:
        return explicit
    raw = _raw(name, env)
    return BY_NAME[name].parse(raw) if raw else BY_NAME[name].default


def is_set(name: str, env: Mapping[str, str] | None = None) -> bool:
    return bool(_raw(name, env))


# -- what the other layers are handed -----------------------------------------------------------


def config_file(env: Mapping[str, str] | None = None) -> Path | None:
    """``BANKGATE_CONFIG``: the pipeline config file, when one is used instead of variables."""
    return value("BANKGATE_CONFIG", env=env)


def ledger_root(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``BANKGATE_LEDGER``: the ledger root URL ("" when unset), read by the pull side and the CLI
    as well as the pipeline, so both ends of a file's journey write under one root."""
    return value("BANKGATE_LEDGER", explicit, env) or ""


#: Airflow's own task context, set in the environment of every task: a pull record names its run.
_AIRFLOW_TASK = {"dag_id": "AIRFLOW_CTX_DAG_ID", "run_id": "AIRFLOW_CTX_DAG_RUN_ID", "task_id": "AIRFLOW_CTX_TASK_ID"}


def airflow_task(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Airflow DAG, run and task this process runs as ({} outside an Airflow task)."""
    source = os.environ if env is None else env
    return {key: source[name] for key, name in _AIRFLOW_TASK.items() if source.get(name)}


def config_values(env: Mapping[str, str] | None = None, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """The ``PipelineConfig`` keys set in the environment (all, or those in ``keys``), typed;
    every bad value reported in one ConfigError."""
    wanted = None if keys is None else set(keys)
    problems = Problems("environment", ConfigError, "the environment's settings")
    found: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.key and (wanted is None or setting.key in wanted) and is_set(setting.name, env):
            parsed = problems.check(None, partial(setting.parse, _raw(setting.name, env)))
            if parsed is not None:
                found[setting.key] = str(parsed) if setting.kind == "path" else parsed
    problems.raise_if_any()
    return found


def layout_dirs(explicit: Any = None, env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """User layout directories for ``bankgate.parsers.fixed`` (searched before the shipped ones)."""
    return tuple(value("BANKGATE_LAYOUTS", explicit, env))


def template_dirs(explicit: Any = None, env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """User carrier template directories for ``bankgate.parsers.insurance``."""
    return tuple(value("BANKGATE_TEMPLATES", explicit, env))


def tesseract(env: Mapping[str, str] | None = None) -> str | None:
    """The tesseract binary to use for OCR, or None when OCR is turned off."""
    configured = value("BANKGATE_TESSERACT", env=env)
    return None if configured.lower() in FALSE_WORDS else configured


def pdf_limits(env: Mapping[str, str] | None = None, **explicit: object) -> Limits:
    """``Limits`` from ``BANKGATE_PDF_*``, each overridden by an explicit keyword; every bad value
    is reported (``bankgate.parsers.schema``), naming its variable."""
    raw: dict[str, object] = {}
    for f in fields(Limits):
        name = PDF_PREFIX + f.name.upper()
        if is_set(name, env):
            raw[f.name] = _raw(name, env)
    return Limits.parse({**raw, **explicit}, name=lambda limit: PDF_PREFIX + limit.upper())


def parser_options(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``bankgate.parsers.registry.open_parser``'s search paths and PDF options, from the settings."""
    pdf = {"limits": pdf_limits(env), "template_dirs": template_dirs(env=env), "tesseract": tesseract(env)}
    return {"layout_dirs": layout_dirs(env=env), "pdf": pdf}


def banks_path(explicit: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The bank config. Required: a deployment that forgot it must not quietly schedule the
    repository's sample banks; the demo and the tests set it explicitly."""
    path = value("BANKGATE_BANKS", explicit, env)
    if not path:
        raise ConfigError(
            "BANKGATE_BANKS is not set: point it at your bank config (a TOML file; samples/banks.toml shows every key)"
        )
    return Path(path)


def push_settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the presign API needs: staging and ledger URLs, the clients file, the claim, the role."""
    clients = value("BANKGATE_CLIENTS", env=env) or value("BANKGATE_BANKS", env=env)
    for name, given in (("BANKGATE_STAGING", value("BANKGATE_STAGING", env=env)), ("BANKGATE_CLIENTS", clients)):
        if not given:
            raise ConfigError(f"{name} is not set: the presign API needs it")
    return {
        "staging": value("BANKGATE_STAGING", env=env),
        "ledger": value("BANKGATE_LEDGER", env=env) or "",
        "clients": Path(clients),
        "claim": value("BANKGATE_CLIENT_CLAIM", env=env),
        "role_arn": value("BANKGATE_PUSH_ROLE_ARN", env=env) or "",
    }


def alert_channels(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The notifier's channels (``Notifier(**alert_channels())``)."""
    return {
        "webhook_url": value("BANKGATE_ALERT_WEBHOOK", env=env) or "",
        "sns_topic_arn": value("BANKGATE_ALERT_SNS_TOPIC", env=env) or "",
    }


def batch_job(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The batch hand-off's settings ({} when neither a job queue nor a Cloud Run job is named):
    ``service`` ("aws-batch" or "cloud-run"), its job's names, and the shared limits."""
    names = ("BANKGATE_BATCH_JOB_QUEUE", "BANKGATE_BATCH_JOB_DEFINITION")
    queue, definition = (value(name, env=env) or "" for name in names)
    cloud_run = value("BANKGATE_CLOUD_RUN_JOB", env=env) or ""
    if not queue and not definition and not cloud_run:
        return {}
    if cloud_run and (queue or definition):
        raise ConfigError("BANKGATE_CLOUD_RUN_JOB and BANKGATE_BATCH_JOB_QUEUE: name one batch runner, not both")
    if not cloud_run and not (queue and definition):
        raise ConfigError("BANKGATE_BATCH_JOB_QUEUE and BANKGATE_BATCH_JOB_DEFINITION go together")
    if cloud_run and not re.fullmatch(r"projects/[^/]+/locations/[^/]+/jobs/[^/]+", cloud_run):
        raise ConfigError(f"BANKGATE_CLOUD_RUN_JOB: not projects/PROJECT/locations/REGION/jobs/JOB: {cloud_run!r}")
    service = {"service": "cloud-run", "cloud_run_job": cloud_run} if cloud_run else {"service": "aws-batch"}
    return {
        **service,
        "job_queue": queue,
        "job_definition": definition,
        "threshold_bytes": value("BANKGATE_BATCH_THRESHOLD", env=env),
        "lease_seconds": value("BANKGATE_BATCH_LEASE_SECONDS", env=env),
        "start_seconds": value("BANKGATE_BATCH_START_SECONDS", env=env),
    }


def batch_job_id(env: Mapping[str, str] | None = None) -> str:
    """This process's batch job id, or "" outside a job: ``AWS_BATCH_JOB_ID`` (set by AWS Batch)
    or ``CLOUD_RUN_EXECUTION`` (set by Cloud Run: the execution's short name)."""
    environ = os.environ if env is None else env
    return environ.get("AWS_BATCH_JOB_ID", "") or environ.get("CLOUD_RUN_EXECUTION", "")


def one_math_thread() -> None:
    """Keep numpy's OpenBLAS to one thread in a command-line process, unless the operator chose.

    bankgate's numpy work is element-wise (no BLAS call), yet OpenBLAS starts a thread per
    core when numpy loads, and their spin-up cost ``bankgate parse`` about 60 ms of CPU on two
    cores (0.16 against 0.10 CPU s on a small file) that other jobs on the worker could use.
    Only the CLI (``bankgate parse``, the batch runner's ``bankgate process``) calls it,
    before numpy loads: a library user's own numpy keeps its threads."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


# -- listing ------------------------------------------------------------------------------------


def listing(env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Every setting as a plain dict (name, type, default, group, doc), in table order."""
    return [
        {"name": s.name, "type": s.kind, "default": s.shown_default(), "key": s.key, "group": s.group, "doc": s.doc}
        for s in SETTINGS
    ]


def markdown_table() -> str:
    """The README's settings table."""
    rows = ["| variable | type | default | pipeline TOML key | meaning |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.shown_default()}`" if s.shown_default() else ""
        key = f"`{s.key}`" if s.key else ""
        rows.append(f"| `{s.name}` | {s.kind} | {default} | {key} | {s.doc.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def render(fmt: str = "table") -> str:
    """``bankgate settings --format table|json|env|markdown``."""
    if fmt == "json":
        return json.dumps(listing(), indent=2) + "\n"
    if fmt == "markdown":
        return markdown_table()
    if fmt == "env":
        lines = []
        for s in SETTINGS:
            lines += [f"# {s.doc} ({s.kind})", f"{'' if s.shown_default() else '# '}{s.name}={s.shown_default()}"]
        return "\n".join(lines) + "\n"
    width = max(len(s.name) for s in SETTINGS)
    kinds = max(len(s.kind) for s in SETTINGS)
    return "".join(f"{s.name:<{width}}  {s.kind:<{kinds}}  {s.shown_default() or '-':<10}  {s.doc}\n" for s in SETTINGS)
