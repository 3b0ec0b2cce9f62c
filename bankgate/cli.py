"""The ``bankgate`` command line.

``parse`` and ``detect`` work on one file (the demo is ``./dev demo``: ``demo/``, outside the package).
Exit codes: 0 success, 1 invalid input (one ``FILE:LINE: message`` line per problem on stderr,
or with ``--errors json`` one JSON object per problem, carrying its rule code), 2 usage error. A traceback is
never the answer to a bad file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bankgate import settings
from bankgate.files import DECOMPRESS_ERRORS, READ_ERRORS, open_detected
from bankgate.parsers.detect import CONTAINERS, NOT_A_BANK_FILE, PDF, UNKNOWN, UNREADABLE
from bankgate.parsers.output import FORMATS, write_records
from bankgate.parsers.problems import ParseError, Problem

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_BUSY = 75  # EX_TEMPFAIL: another worker holds the object; try again later


def _problem_line(path: str, problem: Problem, errors: str = "text") -> str:
    if errors == "json":
        return json.dumps({"file": path, **problem.as_dict()})
    return f"{path}:{problem.line}: {problem}"


def _input_problem(path: str, message: str, code: str, errors: str) -> None:
    """A file that cannot be handed to a parser at all, reported like a parser's problem."""
    line = _problem_line(path, Problem(0, "file", None, message, code=code), errors)
    print(line if errors == "json" else f"{path}:0: {message}", file=sys.stderr)


def _summary_line(path: str, parser, errors: str, valid: bool) -> str:
    if errors == "json":
        return json.dumps({"file": path, "status": "ok" if valid else "invalid", "summary": parser.summary.as_dict()})
    return f"{path}: {parser.summary}" if valid else f"{path}: INVALID: {parser.summary}"


def _parser_options() -> dict[str, Any] | None:
    """The parsers' settings (layouts, templates, PDF limits), or None once a bad one is reported."""
    try:
        return settings.parser_options()
    except ValueError as exc:
        print(f"bankgate: {exc}", file=sys.stderr)
        return None


def cmd_detect(args: argparse.Namespace) -> int:
    path = Path(args.file)
    options = _parser_options()
    if options is None:
        return EXIT_USAGE
    try:
        stream, kind = open_detected(path, options["layout_dirs"])
    except READ_ERRORS as exc:
        print(f"{path}:0: cannot read: {exc}", file=sys.stderr)
        return EXIT_INVALID
    with stream:
        if kind == PDF:  # which insurance document: needs the text, read in a bounded worker
            from bankgate.parsers.detect import classify_pdf

            kind = classify_pdf(stream, **options["pdf"])
    print(kind)
    return EXIT_OK


def cmd_parse(args: argparse.Namespace) -> int:
    from bankgate.parsers.registry import format_for_detected, format_names, open_parser

    path = Path(args.file)
    shown = str(args.file)
    errors = args.errors
    options = _parser_options()
    if options is None:
        return EXIT_USAGE
    try:
        stream, kind = open_detected(path, options["layout_dirs"])
    except READ_ERRORS as exc:
        _input_problem(shown, f"cannot read: {exc}", UNREADABLE, errors)
        return EXIT_INVALID
    with stream:
        fmt = format_for_detected(kind) if args.format == "auto" else args.format
        if args.format == "auto" and (fmt in CONTAINERS or fmt in (UNKNOWN, PDF)):
            what = "not a recognised bank file" if fmt == UNKNOWN else f"a {fmt} file, not a bank file"
            formats = ", ".join(format_names(options["layout_dirs"]))
            _input_problem(shown, f"{what} (formats: {formats})", NOT_A_BANK_FILE, errors)
            return EXIT_INVALID
        try:
            allow, enforce = _codes(args.allow), _codes(args.enforce)
            parser = open_parser(fmt, stream, name=shown, lenient=args.lenient, allow=allow, enforce=enforce, **options)
        except ValueError as exc:
            print(f"bankgate: {exc}", file=sys.stderr)
            return EXIT_USAGE
        try:
            _write(parser, args)
        except ParseError as exc:
            for problem in exc.problems:
                print(_problem_line(shown, problem, errors), file=sys.stderr)
            print(_summary_line(shown, parser, errors, valid=False), file=sys.stderr)
            return EXIT_INVALID
        except _OutputError as exc:
            print(f"bankgate: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except DECOMPRESS_ERRORS as exc:  # a gzip file truncated or corrupt past its first block
            _input_problem(shown, f"cannot read: {exc}", UNREADABLE, errors)
            print(_summary_line(shown, parser, errors, valid=False), file=sys.stderr)
            return EXIT_INVALID
    for problem in parser.problems:
        print(_problem_line(shown, problem, errors), file=sys.stderr)
    print(_summary_line(shown, parser, errors, valid=True), file=sys.stderr)
    return EXIT_OK


def _codes(values: list[str] | None) -> list[str]:
    """``--allow A --allow B,C``: repeatable, and commas separate codes too."""
    return [code for value in values or () for code in value.split(",") if code.strip()]


def cmd_rules(args: argparse.Namespace) -> int:
    """Every rule code, its default severity and meaning: what ``--allow`` and ``--enforce`` take."""
    from bankgate.parsers.registry import rule_sets

    for rules in rule_sets():
        if args.format and rules.namespace != args.format:
            continue
        for rule in rules:
            print(f"{rule.code}\t{rule.severity}\t{rule.meaning}")
    return EXIT_OK


class _OutputError(Exception):
    """The ``-o`` file cannot be created (no such directory, no permission)."""


def _write(parser, args: argparse.Namespace) -> None:
    """Write records to ``-o`` (atomically: a partial file never takes the output's name) or stdout."""
    if not args.out or args.out == "-":
        write_records(args.output, parser.iter_chunks(), sys.stdout.buffer, parser.record_classes)
        sys.stdout.flush()
        return
    target = Path(args.out)
    if target.is_char_device() or target.is_fifo():  # -o /dev/null or a pipe: no rename over it
        with open(target, "wb") as out:
            write_records(args.output, parser.iter_chunks(), out, parser.record_classes)
        return
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        out = open(partial, "wb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise _OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with out:
            write_records(args.output, parser.iter_chunks(), out, parser.record_classes)
        try:
            os.replace(partial, target)
        except OSError as exc:  # e.g. OUT is a directory
            raise _OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def cmd_process(args: argparse.Namespace) -> int:
    """One staged object through the pipeline, as the Lambda would: for local runs and reprocessing."""
    import json

    from bankgate.config import ConfigError, PipelineConfig
    from bankgate.pipeline import Pipeline, StagedObject
    from bankgate.store import split_url

    try:
        config = PipelineConfig.from_toml(args.config) if args.config else PipelineConfig.from_env()
        scheme, where, key = split_url(args.url)
        staging_scheme, staging_where, _ = split_url(config.staging)
    except (ConfigError, ValueError) as exc:
        print(f"bankgate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if scheme == "file":
        root = Path(staging_where).resolve()
        path = Path(where).resolve()
        if scheme != staging_scheme or root not in path.parents:
            print(f"bankgate: {args.url} is not under the staging directory {config.staging}", file=sys.stderr)
            return EXIT_USAGE
        key = path.relative_to(root).as_posix()
    elif (scheme, where) != (staging_scheme, staging_where):
        print(f"bankgate: {args.url} is not in the staging bucket {config.staging}", file=sys.stderr)
        return EXIT_USAGE
    from bankgate.batch import current_job_id

    # In a batch job (AWS_BATCH_JOB_ID set) the claim names the job, taking over its hand-off.
    obj = StagedObject(key, version=args.version_id)
    outcome = Pipeline(config).process(obj, force=args.force, job_id=current_job_id())
    print(
        json.dumps(
            {
                "source": outcome.source,
                "status": outcome.status,
                "type": outcome.file_type,
                "records": outcome.records,
                "outputs": outcome.outputs,
                "reason": outcome.reason,
            }
        )
    )
    if outcome.status == "quarantined":
        print(f"{args.url}: quarantined: {outcome.reason}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_BUSY if outcome.status == "busy" else EXIT_OK


def cmd_layouts(args: argparse.Namespace) -> int:
    from bankgate.parsers.fixed import available_layouts

    for name in available_layouts(settings.layout_dirs()):
        print(name)
    return EXIT_OK


def cmd_settings(args: argparse.Namespace) -> int:
    """Every ``BANKGATE_*`` setting: name, type, default, meaning (``bankgate/settings.py``)."""
    sys.stdout.write(settings.render(args.format))
    return EXIT_OK


def cmd_push(args: argparse.Namespace) -> int:
    from bankgate.push.client import Client, PushFailed, progress_bar

    progress = progress_bar(sys.stderr) if sys.stderr.isatty() else None
    try:
        grant = Client(args.api, args.token, workers=args.workers).push(
            args.file, content_type=args.content_type, progress=progress
        )
    except PushFailed as exc:
        print(f"bankgate push: {args.file}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps({key: grant[key] for key in ("upload_id", "key", "name", "method")}))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    import time

    from bankgate.push.local import start_local

    clients = None
    if args.clients:
        from bankgate.push.clients import load_clients

        clients = load_clients(args.clients)
    _, url, auth, grants = start_local(clients, port=args.port)
    for client in grants.clients:
        print(f"{client}: {url}/#token={auth.token(client, ttl=12 * 3600)}")
    print(f"API: {url}/api (bankgate push FILE --api {url}/api --token TOKEN); Ctrl-C stops", flush=True)
    while True:
        time.sleep(3600)


Subcommands = argparse._SubParsersAction  # what ``add_subparsers`` returns


def build_parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="bankgate", description="SFTP-to-cloud gateway for bank and insurance files.")
    sub = top.add_subparsers(dest="command", required=True)
    _add_parse(sub)
    _add_listings(sub)
    _add_process(sub)
    from bankgate.ledger import commands as ledger_commands

    ledger_commands.add_parser(sub)
    _add_push(sub)
    return top


def _add_parse(sub: Subcommands) -> None:
    p = sub.add_parser("parse", help="parse and validate one file, write its records")
    p.add_argument("file")
    p.add_argument("--format", default="auto", help="auto (default), nacha, bai2, fixed:LAYOUT or insurance-pdf")
    p.add_argument("--output", default="jsonl", choices=FORMATS, help="output format (default jsonl)")
    p.add_argument("-o", dest="out", help="output file (default stdout); written atomically")
    p.add_argument("--lenient", action="store_true", help="report problems as warnings and keep the records")
    p.add_argument(
        "--allow",
        action="append",
        metavar="RULE",
        help="waive a rule by its code (repeatable): still reported, as a warning; see `bankgate rules`",
    )
    p.add_argument(
        "--enforce",
        action="append",
        metavar="RULE",
        help="report a rule that is a warning by default as an error (repeatable)",
    )
    p.add_argument(
        "--errors",
        default="text",
        choices=("text", "json"),
        help="problems on stderr as FILE:LINE: lines (default) or one JSON object each, with the summary last",
    )
    p.set_defaults(func=cmd_parse)


def _add_listings(sub: Subcommands) -> None:
    """The commands that tell: rules, detect, layouts, settings."""
    r = sub.add_parser("rules", help="list the rule codes --allow and --enforce take, with their meaning")
    r.add_argument("--format", choices=("nacha", "bai2", "fixed", "insurance"), help="only this format's rules")
    r.set_defaults(func=cmd_rules)

    d = sub.add_parser("detect", help="print a file's type, decided by its content")
    d.add_argument("file")
    d.set_defaults(func=cmd_detect)

    lay = sub.add_parser("layouts", help="list the fixed-width layouts available to --format fixed:LAYOUT")
    lay.set_defaults(func=cmd_layouts)

    st = sub.add_parser("settings", help="list every BANKGATE_* environment variable: type, default, meaning")
    st.add_argument("--format", choices=("table", "json", "env", "markdown"), default="table")
    st.set_defaults(func=cmd_settings)


def _add_process(sub: Subcommands) -> None:
    proc = sub.add_parser("process", help="run the processing pipeline on one staged object")
    proc.add_argument("url", help="s3://BUCKET/KEY, gs://BUCKET/KEY or file:///PATH inside the staging area")
    proc.add_argument("--config", help="pipeline config TOML (default: $BANKGATE_CONFIG or BANKGATE_* variables)")
    proc.add_argument("--force", action="store_true", help="process again even if the ledger has it as done")
    proc.add_argument("--version-id", help="the object version to process (a versioned bucket; default: current)")
    proc.set_defaults(func=cmd_process)


def _add_push(sub: Subcommands) -> None:
    """The client push and its local server."""
    push = sub.add_parser("push", help="upload one file through the presign API (multipart, resumable)")
    push.add_argument("file")
    push.add_argument("--api", required=True, help="the API's base URL, e.g. https://upload.example.com/api")
    push.add_argument("--token", required=True, help="a bearer token naming your client")
    push.add_argument("--content-type", default="", help="the file's media type (default: guessed from the name)")
    push.add_argument("--workers", type=int, default=8, help="parts sent at once (default 8)")
    push.set_defaults(func=cmd_push)

    serve = sub.add_parser("serve", help="the upload page and presign API on loopback, over a local S3 (moto)")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--clients", help="TOML file with [clients.<id>] tables (default: one demo client, acme)")
    serve.set_defaults(func=cmd_serve)


def main(argv: Sequence[str] | None = None) -> int:
    settings.one_math_thread()  # before any parser loads numpy
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `bankgate parse big.ach | head` is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # an I/O error mid-way (disk full, device error): a message, not a traceback
        print(f"bankgate: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
