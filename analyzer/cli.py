"""The ``mailtls`` command: options -> library calls -> output -> exit code.

Exit codes: 0 success; 1 findings (a TLS problem found by probe); 2 usage or input error
(no input could be read, a file is missing, an output cannot be written); 3 probe target
unreachable or hostile.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from analyzer import api
from analyzer.report.progress import ProgressBar
from analyzer.report.tables import TableFormat, render_table
from analyzer.report.terminal import safe_text

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class InputError(Exception):
    """An input or output problem that ends the command with exit code 2."""


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand.

    Attributes:
        name: the word after ``mailtls``.
        help: one line for ``mailtls --help``.
        arguments: adds the command's options to its parser.
        run: does the work and returns the exit code.
    """

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _write(data: str | bytes, output: str | None) -> None:
    if output in (None, "-"):
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
        return
    assert output is not None
    try:
        if isinstance(data, bytes):
            with open(output, "wb") as fb:
                fb.write(data)
        else:
            with open(output, "w", encoding="utf-8") as ft:
                ft.write(data)
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror}") from exc


def _check_inputs(paths: Sequence[str]) -> None:
    for path in paths:
        if path != "-" and not os.path.exists(path):
            raise InputError(f"no such file or directory: {path}")


def _mailbox_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="mbox (.gz/.bz2/.xz), Maildir, .eml, .msg, directory, or - for stdin",
    )
    p.add_argument(
        "--format",
        choices=[f.value for f in TableFormat],
        default="csv",
        help="output format (default: csv)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument(
        "--trusted-host",
        action="append",
        default=[],
        metavar="PATTERN",
        help="host or address pattern of your own servers (repeatable), e.g. "
        "'*.example.com'; default: inferred from the top-most by host",
    )
    p.add_argument(
        "--issues", metavar="FILE", help="also write the issues frame (same format) to FILE"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")
    p.add_argument(
        "--workers", type=int, metavar="N",
        help="processes for plain mbox files of 64 MiB or more (default: one per CPU; 1: none)",
    )  # fmt: skip


def _run_mailbox(args: argparse.Namespace, frame: str) -> int:
    _check_inputs(args.inputs)
    bar = ProgressBar(sys.stderr, not args.quiet)
    result = api.load_mailbox(
        args.inputs, trusted_hosts=args.trusted_host, progress=bar, workers=args.workers
    )
    bar.close()
    fmt = TableFormat(args.format)
    df = result.hops if frame == "hops" else result.messages
    if fmt is TableFormat.PARQUET and args.output in (None, "-") and sys.stdout.isatty():
        raise InputError("parquet is binary: give -o FILE or redirect stdout")
    _write(render_table(df, fmt), args.output)
    if args.issues:
        _write(render_table(result.issues, fmt), args.issues)
    if not args.quiet:
        sys.stderr.write(
            safe_text(
                f"mailtls: {result.messages_read} messages read, {result.messages_lost} lost; "
                f"{result.headers_read} Received headers parsed, {result.headers_lost} not; "
                f"{len(result.issues)} issues\n"
            )
        )
    if result.messages_read == 0 and result.messages_lost == 0 and len(result.issues):
        return EXIT_USAGE  # nothing in the inputs was a mailbox
    return EXIT_OK


def _probe_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "targets", nargs="*", metavar="TARGET", help="host, host:port or [v6]:port (port 25)"
    )
    p.add_argument(
        "--domain", action="append", default=[], help="probe this domain's MX hosts (repeatable)"
    )
    p.add_argument("--port", type=int, default=25, help="port for --domain MX hosts (default 25)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per step (default 10)")
    p.add_argument(
        "--tarpit", type=float, default=5.0, help="a slower banner is a tarpit (default 5 s)"
    )
    p.add_argument("--ca-file", metavar="PEM", help="trust this CA bundle, not the system store")
    p.add_argument("--versions", action="store_true", help="also try TLS 1.0 to 1.3 one at a time")
    p.add_argument("--format", choices=["text", "json"], default="text", help="default: text")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--ehlo-name", default="localhost", help="name sent with EHLO")


def _run_probe(args: argparse.Namespace) -> int:
    from pathlib import Path

    from analyzer.model.probe import overall_exit
    from analyzer.report.probe_text import render_json, render_text
    from analyzer.sources.probe import parse_target, probe_domain, probe_many

    if not args.targets and not args.domain:
        raise InputError("name at least one TARGET or --domain: nothing is probed unasked")
    try:
        targets = [parse_target(t) for t in args.targets]
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    ca_file = Path(args.ca_file) if args.ca_file else None
    if ca_file is not None and not ca_file.is_file():
        raise InputError(f"no such CA file: {args.ca_file}")
    results = probe_many(
        targets,
        timeout=args.timeout,
        ca_file=ca_file,
        versions=args.versions,
        tarpit_s=args.tarpit,
        ehlo_name=args.ehlo_name,
    )
    for domain in args.domain:
        results += probe_domain(
            domain,
            port=args.port,
            timeout=args.timeout,
            ca_file=ca_file,
            versions=args.versions,
            tarpit_s=args.tarpit,
        )
    text = render_json(results) if args.format == "json" else render_text(results)
    _write(text, args.output)
    return int(overall_exit(results))


def _logs_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="MTA logs: plain, .gz, .bz2, .xz (by content), directories, or - for stdin",
    )  # fmt: skip
    p.add_argument("--format", choices=[f.value for f in TableFormat], default="csv")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--timezone", metavar="ZONE", help="zone of zone-less stamps (default UTC)")
    p.add_argument("--issues", metavar="FILE", help="also write the issues frame to FILE")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    p.add_argument(
        "--workers", type=int, metavar="N",
        help="1: read in this process only (default: files of 16 MiB or more are read ahead "
        "in a second process)",
    )  # fmt: skip


def _run_logs(args: argparse.Namespace, frame: str) -> int:
    from analyzer.api_logs import read_logs_result

    _check_inputs(args.inputs)
    try:
        bar = ProgressBar(sys.stderr, not args.quiet)
        result = read_logs_result(
            args.inputs, timezone=args.timezone, progress=bar.lines, workers=args.workers
        )
        bar.close()
    except (ValueError, LookupError) as exc:  # an unknown time zone name
        raise InputError(str(exc)) from exc
    fmt = TableFormat(args.format)
    df = result.events if frame == "events" else result.deliveries
    _write(render_table(df, fmt), args.output)
    if args.issues:
        _write(render_table(result.issues, fmt), args.issues)
    c = result.counts
    if not args.quiet:
        sys.stderr.write(
            f"mailtls: {c.lines} lines: {c.parsed} parsed, {c.unrelated} not about TLS or "
            f"delivery, {c.issues} issues; {len(result.events)} events, "
            f"{len(result.deliveries)} deliveries\n"
        )
    return EXIT_USAGE if c.lines == 0 and c.issues else EXIT_OK


def _report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="mailbox exports and MTA logs, any mix"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the report here (default: summary on the terminal and mailtls-report.html)",
    )
    p.add_argument(
        "--format",
        choices=["text", "markdown", "json", "html"],
        help="report format (default: text summary + HTML file, or from -o's suffix)",
    )
    p.add_argument(
        "--batch", action="store_true", help="one report per input plus index.html, in --out-dir"
    )
    p.add_argument("--out-dir", metavar="DIR", default="reports", help="for --batch")
    p.add_argument(
        "--since", metavar="DATE", help="ISO 8601 date or time, inclusive (UTC if no zone)"
    )
    p.add_argument("--until", metavar="DATE", help="ISO 8601 date or time, exclusive")
    p.add_argument("--domain", metavar="DOMAIN", help="only evidence about this domain")
    p.add_argument("--direction", choices=["inbound", "outbound", "local"])
    p.add_argument(
        "--trusted-host",
        action="append",
        default=[],
        metavar="PATTERN",
        help="your own servers (repeatable)",
    )
    p.add_argument("--timezone", metavar="ZONE", help="zone of zone-less log stamps")
    p.add_argument(
        "--fail-under",
        type=float,
        metavar="PCT",
        help="exit 1 when under PCT %% of messages and sessions were encrypted",
    )
    p.add_argument(
        "--probe",
        action="store_true",
        help="also probe the peers that failed in the evidence (live network)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument(
        "--workers", type=int, metavar="N",
        help="processes for large inputs (default: by the machine; 1: this process only)",
    )  # fmt: skip


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"not an ISO 8601 date or time: {text}") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


_SUFFIX_FORMAT = {
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".md": "markdown",
    ".txt": "text",
}


def _run_report(args: argparse.Namespace) -> int:
    from analyzer import analysis

    _check_inputs(args.inputs)
    bar = ProgressBar(sys.stderr, not args.quiet)
    options = {
        "since": _when(args.since), "until": _when(args.until), "domain": args.domain,
        "direction": args.direction, "trusted_hosts": args.trusted_host,
        "timezone": args.timezone, "progress": bar, "log_progress": bar.lines,
        "workers": args.workers,
    }  # fmt: skip
    if args.batch:
        return _run_batch(args, options, bar)
    try:
        result = analysis.analyze(args.inputs, **options)
    except (ValueError, LookupError) as exc:
        raise InputError(str(exc)) from exc
    finally:
        bar.close()
    if args.probe:
        result = analysis.with_probes(result)
    fmt = args.format or _SUFFIX_FORMAT.get(os.path.splitext(args.output or "")[1].lower())
    color = sys.stdout.isatty()
    if fmt is None and args.output in (None, "-"):
        from analyzer.report.text import render_summary

        sys.stdout.write(render_summary(result, color))
        _write(result.render("html"), "mailtls-report.html")
        if not args.quiet:
            sys.stderr.write("mailtls: full report written to mailtls-report.html\n")
    else:
        _write(
            result.render(fmt or "text", color=color and args.output in (None, "-")), args.output
        )
    if args.fail_under is not None and result.fails(args.fail_under):
        return EXIT_FINDINGS
    return EXIT_OK


def _run_batch(args: argparse.Namespace, options: dict[str, object], bar: ProgressBar) -> int:
    from pathlib import Path

    from analyzer import analysis
    from analyzer.report.index import IndexEntry, report_filenames
    from analyzer.report.index import render as render_index

    fmt = args.format or "html"
    ext = {"markdown": "md", "text": "txt"}.get(fmt, fmt)
    out = Path(args.out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {out}: {exc.strerror}") from exc
    entries = []
    failed = False
    for inp, name in zip(args.inputs, report_filenames(args.inputs, ext), strict=True):
        try:
            result = analysis.analyze([inp], **options)  # type: ignore[arg-type]
        except (ValueError, LookupError) as exc:
            raise InputError(str(exc)) from exc
        _write(result.render(fmt), str(out / name))
        entries.append(IndexEntry(inp, name, result))
        failed |= args.fail_under is not None and result.fails(args.fail_under)
    bar.close()
    _write(render_index(entries), str(out / "index.html"))
    if not args.quiet:
        sys.stderr.write(f"mailtls: {len(entries)} reports and index.html in {out}\n")
    return EXIT_FINDINGS if failed else EXIT_OK


def _tlsrpt_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="LOG", help="outbound MTA logs")
    p.add_argument("--organization", required=True, help="organization-name of the report")
    p.add_argument("--contact", required=True, help="contact-info of the report")
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the UTC day reported")
    p.add_argument("-o", "--output", metavar="DIR", default=".", help="directory for the reports")
    p.add_argument("--timezone", metavar="ZONE", help="zone of zone-less log stamps")


def _run_tlsrpt(args: argparse.Namespace) -> int:
    from datetime import date
    from pathlib import Path

    from analyzer import analysis

    _check_inputs(args.inputs)
    try:
        day = date.fromisoformat(args.date)
    except ValueError as exc:
        raise InputError(f"--date must be YYYY-MM-DD, not {args.date}") from exc
    try:
        reports = analysis.tlsrpt(
            args.inputs, organization=args.organization, contact=args.contact, day=day,
            timezone=args.timezone,
        )  # fmt: skip
    except (RuntimeError, ValueError, LookupError) as exc:
        raise InputError(str(exc)) from exc
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for r in reports:
        _write(r.json(), str(out / r.filename))
    sys.stderr.write(f"mailtls: {len(reports)} TLSRPT report(s) written to {out}\n")
    return EXIT_OK


COMMANDS: tuple[Command, ...] = (
    Command(
        "report",
        "the summary report: coverage, fallback, certificate incidents, forced-TLS readiness",
        _report_arguments,
        _run_report,
    ),
    Command(
        "hops",
        "one row per Received header: per-hop TLS evidence",
        _mailbox_arguments,
        lambda a: _run_mailbox(a, "hops"),
    ),
    Command(
        "messages",
        "one row per message: boundary hop, encryption inside the trust boundary",
        _mailbox_arguments,
        lambda a: _run_mailbox(a, "messages"),
    ),
    Command(
        "events",
        "one row per TLS event in MTA logs (sessions, handshake errors)",
        _logs_arguments,
        lambda a: _run_logs(a, "events"),
    ),
    Command(
        "deliveries",
        "one row per delivery attempt or received message in MTA logs",
        _logs_arguments,
        lambda a: _run_logs(a, "deliveries"),
    ),
    Command(
        "tlsrpt",
        "RFC 8460 TLS reports (one per policy domain) from outbound MTA logs",
        _tlsrpt_arguments,
        _run_tlsrpt,
    ),
    Command(
        "probe",
        "check mail servers' STARTTLS and certificates (exit 0 ok, 1 TLS problem, 3 unreachable)",
        _probe_arguments,
        _run_probe,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailtls",
        description="Forensic analysis of TLS in e-mail transport: Received headers and MTA logs.",
    )
    from analyzer import __version__

    parser.add_argument("--version", action="version", version=f"mailtls {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args._run(args)
    except InputError as exc:
        sys.stderr.write(f"mailtls: error: {safe_text(str(exc))}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader (head, less) went away: not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    return code


if __name__ == "__main__":
    raise SystemExit(main())
