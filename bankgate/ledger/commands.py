"""``bankgate ledger``: list a bank's day, show one file's journey, reconcile a range of days.

Output is plain text, JSON or CSV on stdout and pipes cleanly: no colour, and a progress bar
(on stderr) only when stderr is a terminal and a scan reads many objects.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, get_args

from bankgate.ledger import index
from bankgate.ledger.journey import Journey, find, journey
from bankgate.ledger.reconcile import ACCOUNTS, reconcile
from bankgate.ledger.root import Root, open_root

EXIT_OK, EXIT_GAP, EXIT_USAGE = 0, 1, 2
COLUMNS = ("name", "state", "type", "size", "records", "reason", "url")
CSV_COLUMNS = ("name", "url", "kind", "state", "type", "size", "sha256", "records", "totals", "reason", "codes")


class UsageError(Exception):
    pass


def add_parser(sub: Any) -> None:
    """The ``ledger`` command and its three subcommands, on the top-level parser's ``sub``."""
    led = sub.add_parser("ledger", help="query the ledger: a bank's day, one file's journey, reconciliation")
    led.set_defaults(func=lambda _args: (led.print_help(), EXIT_USAGE)[1])
    cmds = led.add_subparsers(dest="ledger_command", metavar="COMMAND")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--ledger", help="the ledger root URL (default: $BANKGATE_LEDGER, or the --config's ledger)")
    where.add_argument("--config", help="pipeline config TOML whose `ledger` is the root (default: $BANKGATE_CONFIG)")

    ls = cmds.add_parser("list", parents=[where], help="the files of one bank's (or client's) day: one read")
    ls.add_argument("--bank", required=True, help="bank or client")
    ls.add_argument("--day", required=True, type=_day, help="YYYY-MM-DD, the bank's day")
    ls.add_argument("--state", choices=get_args(index.State), help="only files in this state")
    ls.add_argument("--output", choices=("table", "json", "csv"), default="table")
    ls.set_defaults(func=cmd_list)

    show = cmds.add_parser("show", parents=[where], help="the whole journey of one file")
    show.add_argument("file", metavar="FILE-OR-URL", help="a staged object's URL, or a file name to look up")
    show.add_argument("--bank", help="look the name up in this bank's (or client's) days only")
    show.add_argument("--day", type=_day, help="look the name up on this day only (with --bank)")
    show.add_argument("--output", choices=("text", "json"), default="text")
    show.set_defaults(func=cmd_show)

    rec = cmds.add_parser("reconcile", parents=[where], help="account for every byte pulled or pushed; 1 on a gap")
    rec.add_argument("--bank", required=True, help="bank or client")
    rec.add_argument("--from", dest="first", required=True, type=_day, help="first day, YYYY-MM-DD")
    rec.add_argument("--to", dest="last", required=True, type=_day, help="last day, YYYY-MM-DD")
    rec.add_argument("--staging", help="the URL prefix the bank's files are staged under, to find unrecorded ones")
    rec.add_argument("--pull-ledger", help="the bank's pull ledger URL, when its config names one (`ledger`)")
    rec.add_argument("--output", choices=("text", "json"), default="text")
    rec.set_defaults(func=cmd_reconcile)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def _root(args: argparse.Namespace) -> Root:
    from bankgate.config import PipelineConfig, ledger_root_url

    url = PipelineConfig.from_toml(args.config).ledger if args.config and not args.ledger else ""
    url = url or ledger_root_url(args.ledger)
    if not url:
        raise UsageError("no ledger: pass --ledger URL, or set BANKGATE_LEDGER or BANKGATE_CONFIG")
    try:
        return open_root(url)
    except ValueError as exc:
        raise UsageError(f"--ledger: {exc}") from None


def _run(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except UsageError as exc:
            print(f"bankgate ledger: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except ValueError as exc:  # a bank name that cannot be one, a config error
            print(f"bankgate ledger: {exc}", file=sys.stderr)
            return EXIT_USAGE

    return run


@_run
def cmd_list(args: argparse.Namespace) -> int:
    entries = sorted(index.read(_root(args), args.bank, args.day.isoformat()).values(), key=lambda e: (e.name, e.url))
    if args.state:
        entries = [e for e in entries if e.state == args.state]
    if args.output == "json":
        print(json.dumps([e.to_dict() for e in entries], indent=2, sort_keys=True))
    elif args.output == "csv":
        out = csv.DictWriter(sys.stdout, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        out.writeheader()
        for e in entries:
            out.writerow({**e.to_dict(), "totals": json.dumps(e.totals, sort_keys=True), "codes": " ".join(e.codes)})
    else:
        rows = [[_cell(e, c) for c in COLUMNS] for e in entries]
        _table([c.upper() for c in COLUMNS], rows)
        print(f"{len(entries)} file(s), {sum(e.size for e in entries):,} bytes", file=sys.stderr)
    return EXIT_OK


def _cell(entry: index.Entry, column: str) -> str:
    if column == "reason":
        text = " ".join(entry.codes) if entry.state == "done" else entry.reason
        return text if len(text) <= 60 else text[:59] + "…"
    value = getattr(entry, column)
    return f"{value:,}" if isinstance(value, int) else str(value or "-")


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


@_run
def cmd_show(args: argparse.Namespace) -> int:
    root = _root(args)
    if "://" in args.file:
        urls = [args.file]
    else:
        days = [args.day.isoformat()] if args.day else None
        if days and not args.bank:
            raise UsageError("--day needs --bank")
        with _progress("searching the day indexes") as progress:
            urls = find(root, args.file, owner=args.bank, days=days, progress=progress)
    journeys = [j for j in (journey(root, url) for url in urls) if j is not None]
    if not journeys:
        print(f"bankgate ledger: {args.file}: not in the ledger at {root.url}", file=sys.stderr)
        return EXIT_GAP
    if args.output == "json":
        print(json.dumps([j.to_dict() for j in journeys], indent=2, sort_keys=True, default=str))
    else:
        print("\n\n".join(_story(j) for j in journeys))
    return EXIT_OK


def _story(j: Journey) -> str:
    lines = [j.url, f"  state: {j.state}"]
    for stage in j.stages:
        digest = f"  sha256 {stage.sha256}" if stage.sha256 else ""
        lines.append(f"  {stage.when}  {stage.name}{digest}")
        for name, value in stage.detail.items():
            if value in (None, "", [], {}):
                continue
            shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
            lines.append(f"      {name}: {shown}")
    return "\n".join(lines)


@_run
def cmd_reconcile(args: argparse.Namespace) -> int:
    if args.last < args.first:
        raise UsageError(f"--to {args.last} is before --from {args.first}")
    root = _root(args)
    with _progress("checking files") as progress:
        result = reconcile(
            root, args.bank, args.first, args.last, staging=args.staging, pulls=args.pull_ledger, progress=progress
        )
    if args.output == "json":
        print(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return EXIT_OK if result.ok else EXIT_GAP
    total_files, total_bytes = sum(result.files.values()), sum(result.bytes.values())
    print(f"{args.bank} {args.first}..{args.last}: {total_files} file(s), {total_bytes:,} bytes")
    for account in ACCOUNTS:
        print(f"  {account:<12} {result.files[account]:>6} file(s) {result.bytes[account]:>16,} bytes")
    if not result.staging_checked:
        print("  (staging not listed: pass --staging URL to find staged objects no record knows)")
    for gap in result.gaps:
        print(f"GAP {gap.kind}: {gap.url}: {gap.detail}")
    print(f"{len(result.gaps)} gap(s)" if result.gaps else "no gaps: every byte is accounted for")
    return EXIT_OK if result.ok else EXIT_GAP


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal (rich's, when installed), else nothing."""
    if not sys.stderr.isatty() or importlib.util.find_spec("rich") is None:  # rich: the Airflow and dev installs
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield step


__all__ = ["add_parser"]
