"""`splitexit worker` (a tier's gRPC server) and `splitexit testbed run` (the emulated testbed)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer

from splitexit.cli._common import (
    check_json_out,
    cli_duration,
    console,
    emit_json,
    print_error,
    torch_threads,
    user_errors,
)
from splitexit.cli._outputs import is_stdout
from splitexit.cli._progress import (
    LogLevelOpt,
    QuietOpt,
    SampleBar,
    VerboseOpt,
    progress_enabled,
    set_log_level,
)
from splitexit.errors import InputError

__all__ = ["PARENT_POLL_S", "check_address", "register"]

# how often a worker started with --parent checks that its parent still runs: a killed
# driver's workers stop within this plus a 0.1 s grace (docs/reliability.md, "Runtime")
PARENT_POLL_S = 0.2


def worker_command(
    tier: Annotated[str, typer.Option(help="Name of the tier this worker plays.")],
    listen: Annotated[
        str, typer.Option(help="HOST:PORT to bind (port 0: any free port). Loopback by default.")
    ] = "127.0.0.1:0",
    token_file: Annotated[
        Path | None,
        typer.Option(help="File holding the shared deploy token (default: $SPLITEXIT_TOKEN)."),
    ] = None,
    pool: Annotated[int, typer.Option(help="Server threads.")] = 8,
    queue: Annotated[
        int, typer.Option(help="Maximum concurrent calls; more are refused at once.")
    ] = 32,
    max_message_mb: Annotated[float, typer.Option(help="Largest message, MiB.")] = 64.0,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate: serve TLS.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
    tls_ca: Annotated[
        Path | None, typer.Option(help="PEM CA that signs the next tier's and the sink's certs.")
    ] = None,
    parent: Annotated[
        int | None, typer.Option(help="Stop when the process with this id has ended.")
    ] = None,
    providers: Annotated[
        str,
        typer.Option(
            help="ONNX Runtime execution providers, comma-separated, in order of preference; "
            "those not installed are skipped, CPU is always last."
        ),
    ] = "CPUExecutionProvider",
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus /metrics on this port (0: any free).")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address of /metrics.")] = "127.0.0.1",
    log_format: Annotated[
        Literal["text", "json"], typer.Option(help="Logs on stderr as text or json lines.")
    ] = "text",
    log_level: Annotated[
        Literal["debug", "info", "warning", "error"],
        typer.Option(help="debug, info, warning or error."),
    ] = "info",
    transport: Annotated[
        Literal["grpc", "tcp"],
        typer.Option(
            help="grpc: samples as gRPC calls only. tcp: also serve the TCP frame data plane "
            "(token handshake, no TLS: loopback unless --insecure)."
        ),
    ] = "grpc",
    insecure: Annotated[
        bool,
        typer.Option(help="Allow --transport tcp (plaintext frames) beyond loopback."),
    ] = False,
    max_connections: Annotated[
        int, typer.Option(help="Frame connections held at once; more are closed.")
    ] = 64,
) -> None:
    """Serve one tier: take a partition (token), run it, exit or forward every sample."""
    serving = threading.Event()
    if parent is not None:  # a driver killed while we start up: leave at once, not when ready
        _watch_parent_while_starting(parent, serving)
    from splitexit.runtime import READY_PREFIX, TOKEN_ENV, WorkerOptions, WorkerServer
    from splitexit.runtime._logs import configure_logging

    with user_errors():
        _check_worker_options(listen, pool, queue, max_message_mb, metrics_port)
        configure_logging(log_level, log_format)
        token = _token(token_file)
        if not token:
            raise InputError(f"a worker needs a token: --token-file FILE or ${TOKEN_ENV}")
        options = WorkerOptions(
            pool=pool,
            queue=queue,
            max_message_bytes=int(max_message_mb * 1024 * 1024),
            tls_cert=_read_pem(tls_cert, "--tls-cert"),
            tls_key=_read_pem(tls_key, "--tls-key"),
            tls_ca=_read_pem(tls_ca, "--tls-ca"),
            providers=tuple(name.strip() for name in providers.split(",") if name.strip()),
            metrics_port=metrics_port,
            metrics_host=metrics_host,
            transport=transport,
            insecure=insecure,
            max_connections=max_connections,
        )
        server = WorkerServer(tier, token, listen=listen, options=options)
        port = server.start()
    host = listen.rsplit(":", 1)[0]
    try:
        print(f"{READY_PREFIX}{tier} {host}:{port}", flush=True)
    except BrokenPipeError:  # the driver that reads this line is gone
        server.stop(grace_s=0)
        os._exit(0)

    def on_signal(signum: int, frame: object) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serving.set()  # from here the loop below watches the parent and stops gracefully
    while not server.stopped.wait(PARENT_POLL_S):
        if parent is not None and not _alive(parent):  # the testbed died without closing us
            server.stop(grace_s=0.1)
    # stopped: the grace for running calls is over, so leave now rather than join the handler
    # threads still sleeping out a compute stretch or a link delay (their results have nowhere
    # to go); a killed driver's workers are gone within the poll plus the grace
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # the driver's end may be closed
            stream.flush()
    logging.shutdown()
    os._exit(0)


def _watch_parent_while_starting(parent: int, serving: threading.Event) -> None:
    """A daemon thread that ends the process as soon as ``parent`` is gone, until ``serving``
    is set: imports, loading and binding take seconds on a loaded machine, and a worker
    whose driver was killed meanwhile has nobody to serve."""

    def watch() -> None:
        while not serving.wait(PARENT_POLL_S):
            if not _alive(parent):
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _check_worker_options(
    listen: str, pool: int, queue: int, max_message_mb: float, metrics_port: int | None
) -> None:
    """The worker's numbers and address, checked before anything binds."""
    import math

    check_address(listen, "--listen")
    if pool < 1:
        raise InputError(f"--pool must be >= 1, got {pool}")
    if queue < 1:
        raise InputError(f"--queue must be >= 1, got {queue}")
    if not (math.isfinite(max_message_mb) and 0 < max_message_mb <= 2047):
        raise InputError(f"--max-message-mb must be in (0, 2047] MiB, got {max_message_mb}")
    if metrics_port is not None and not 0 <= metrics_port <= 65535:
        raise InputError(f"--metrics-port must be in 0..65535, got {metrics_port}")


def check_address(text: str, option: str, *, lowest_port: int = 0) -> None:
    """``HOST:PORT`` with a port in ``lowest_port``..65535, else one line naming ``option``.

    >>> check_address("127.0.0.1:0", "--listen")
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not lowest_port <= int(port) <= 65535:
        raise InputError(
            f"{option} {text!r}: expected HOST:PORT with a port in {lowest_port}..65535"
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read_pem(path: Path | None, option: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"{option} {path}: {error.strerror}") from None


testbed_app = typer.Typer(
    help="The emulated multi-tier testbed: one worker process per tier on this machine.",
    no_args_is_help=True,
)


@testbed_app.command("run")
def testbed_run_command(
    profile: Annotated[
        str,
        typer.Option(
            "--profile", "--model", help="Profile (bundled name or file): model and dataset."
        ),
    ] = "resnet20-fashion-mnist-ort",
    topology: Annotated[str, typer.Option(help="Topology YAML file or preset name.")] = "mobile",
    config: Annotated[
        str, typer.Option(help="'best' (plan now) or a JSON file, as `splitexit export` takes.")
    ] = "best",
    export_dir: Annotated[
        Path | None,
        typer.Option("--export", help="Use this exported folder instead of exporting now."),
    ] = None,
    samples: Annotated[int, typer.Option(help="Samples to stream (profiling split).")] = 200,
    clients: Annotated[int, typer.Option(help="Concurrent clients at the source.")] = 1,
    compute_mode: Annotated[
        str,
        typer.Option(
            metavar="[sleep|cpu-quota|none]",
            help="sleep (stretch to compute_ratio x this machine), cpu-quota (cgroup), none.",
        ),
    ] = "sleep",
    deadline: Annotated[str, typer.Option(help="Deadline of each sample.")] = "60s",
    ready_timeout: Annotated[
        str, typer.Option(help="How long to wait for each worker to answer before deploying.")
    ] = "30s",
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads per worker.")] = 1,
    transport: Annotated[
        str,
        typer.Option(
            metavar="[grpc|tcp]", help="Samples travel as gRPC calls (grpc) or TCP frames (tcp)."
        ),
    ] = "grpc",
    connect: Annotated[
        list[str] | None,
        typer.Option(help="TIER=HOST:PORT of a running worker (repeat); default: start them."),
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option(help="Token of the --connect workers (else $SPLITEXIT_TOKEN).")
    ] = None,
    sink_listen: Annotated[
        str, typer.Option(help="HOST:PORT where results arrive (reachable by the workers).")
    ] = "127.0.0.1:0",
    tls_ca: Annotated[Path | None, typer.Option(help="PEM CA of the workers' certs.")] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate of the sink.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM key of --tls-cert.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the measurement (JSON) here.")
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="The profile run's checkpoints (default runs/MODEL-DATASET)."),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Folder of the dataset files.")] = None,
    allow_failures: Annotated[
        int, typer.Option(help="Failed samples accepted before the exit status is 1.")
    ] = 0,
    network: Annotated[
        str,
        typer.Option(
            metavar="[emulated|netns]",
            help="emulated: links timed in the sending process; netns (root): every tier in "
            "its own network namespace, links shaped by the kernel (docs/netns.md).",
        ),
    ] = "emulated",
    quiet: QuietOpt = False,
    log_level: LogLevelOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Deploy a configuration on local workers, stream samples, measure latency and exits.

    Exit status 1 when more than --allow-failures samples failed (2: bad input)."""
    from splitexit.cli._common import console

    bar = SampleBar("streaming samples", samples, enabled=progress_enabled(quiet))
    with user_errors(), bar:
        set_log_level(log_level, verbose)
        check_json_out(json_out)
        if allow_failures < 0:
            raise InputError(f"--allow-failures must be >= 0, got {allow_failures}")
        cli_duration(deadline, "--deadline")
        cli_duration(ready_timeout, "--ready-timeout")
        check_address(sink_listen, "--sink-listen")
        _parse_connect(connect)  # each TIER=HOST:PORT once, before any work
        measurement = run_one(
            profile=profile, topology=topology, config=config, export_dir=export_dir,
            samples=samples, clients=clients, compute_mode=compute_mode, deadline=deadline,
            threads=threads, connect=connect, token_file=token_file, work_dir=work_dir,
            data_dir=data_dir, sink_listen=sink_listen, transport=transport,
            tls=(_read_pem(tls_cert, "--tls-cert"), _read_pem(tls_key, "--tls-key"),
                 _read_pem(tls_ca, "--tls-ca")), ready_timeout=ready_timeout,
            network=network,
            progress=bar,
        )  # fmt: skip
        to_stdout = is_stdout(json_out)
        emit_json(json_out, measurement, indent=1)
    from rich.console import Console

    from splitexit.reports import print_measurement

    print_measurement(Console(stderr=True) if to_stdout else console(), measurement)
    summary = measurement.get("summary")
    failed = int(summary.get("failed", 0)) if isinstance(summary, dict) else 0
    if failed:
        assert isinstance(summary, dict)
        over_all = summary.get("accuracy_all_samples")
        shown = "-" if over_all is None else f"{over_all:.2%}"
        print_error(
            f"{failed} of {summary.get('samples')} samples failed (accuracy over all samples, "
            f"failures counted wrong: {shown}); --allow-failures {allow_failures}"
        )
        if failed > allow_failures:
            raise typer.Exit(1)


def run_one(
    *,
    profile: str,
    topology: str,
    config: str,
    export_dir: Path | None,
    samples: int,
    clients: int,
    compute_mode: str,
    deadline: str,
    threads: int,
    connect: list[str] | None,
    token_file: Path | None,
    work_dir: Path | None,
    data_dir: Path | None,
    sink_listen: str = "127.0.0.1:0",
    tls: tuple[bytes | None, bytes | None, bytes | None] = (None, None, None),
    transport: str = "grpc",
    ready_timeout: str = "30s",
    network: str = "emulated",
    progress: Callable[[], None] | None = None,
) -> dict[str, object]:
    """Parse the options, export (unless ``export_dir``), deploy and measure through the
    library pipelines: the measurement mapping."""
    from splitexit.experiment import deploy_and_measure, export_configuration
    from splitexit.experiment import resolve_configuration as resolve
    from splitexit.profile import load_profile
    from splitexit.runtime import TestbedOptions, WorkerOptions
    from splitexit.topology import load_topology
    from splitexit.units import parse_duration

    options = TestbedOptions(
        samples=samples, clients=clients, compute_mode=compute_mode, threads=threads,
        deadline_s=parse_duration(deadline), transport=transport,
        ready_timeout_s=parse_duration(ready_timeout), network=network,
    )  # fmt: skip
    addresses = _parse_connect(connect)
    token = None if addresses is None else _token(token_file)
    loaded = load_profile(profile)
    topo = load_topology(topology)

    def measure(folder: Path) -> dict[str, object]:
        return deploy_and_measure(
            folder, topo, loaded, options, profile_name=profile, data_dir=data_dir,
            connect=addresses, token=token, sink_listen=sink_listen,
            worker_options=WorkerOptions(tls_cert=tls[0], tls_key=tls[1], tls_ca=tls[2]),
            progress=progress,
        )  # fmt: skip

    if export_dir is not None:
        return measure(export_dir)
    # export the configuration now, into a folder removed afterwards
    configuration = resolve(profile, loaded, topo, config)
    torch_threads(1)
    from splitexit.runtime._owner import ExitGuard

    folder = Path(tempfile.mkdtemp(prefix="splitexit-export-"))
    # removed on the way out, at exit, and on SIGTERM (then the signal ends the process)
    guard = ExitGuard(lambda: shutil.rmtree(folder, ignore_errors=True))
    try:
        export_configuration(profile, configuration, topo, folder, work_dir=work_dir)
        return measure(folder)
    finally:
        guard.disarm()


def _parse_connect(connect: list[str] | None) -> dict[str, str] | None:
    if not connect:
        return None
    out = {}
    for item in connect:
        tier, sep, address = item.partition("=")
        if not sep or not tier or ":" not in address:
            raise InputError(f"--connect {item!r}: expected TIER=HOST:PORT")
        if tier in out:
            raise InputError(f"--connect {item!r}: tier {tier!r} is given twice")
        check_address(address, "--connect", lowest_port=1)
        out[tier] = address
    return out


def _token(path: Path | None) -> str:
    """The shared token: the file's first line, else ``$SPLITEXIT_TOKEN``; may be empty."""
    from splitexit.runtime import TOKEN_ENV

    if path is None:
        return os.environ.get(TOKEN_ENV, "")
    try:
        return path.read_text().strip()
    except OSError as error:
        raise InputError(f"{path}: cannot read the token: {error.strerror}") from None


def run_command(
    experiment: Annotated[
        Path | None,
        typer.Argument(help="Experiment YAML (default: the bundled default experiment)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default runs/experiments/NAME).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    allow_failures: Annotated[
        int,
        typer.Option(help="Failed samples (all configurations) accepted before exit status 1."),
    ] = 0,
    log_level: LogLevelOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Profile (or reuse), plan, export, deploy on the testbed, measure: a report folder.

    Exit status 1 when more than --allow-failures samples failed (the report is written)."""
    from rich.console import Console

    with user_errors():
        set_log_level(log_level, verbose)
        if allow_failures < 0:
            raise InputError(f"--allow-failures must be >= 0, got {allow_failures}")
        from splitexit.experiment import (
            check_report_folder,
            default_experiment_path,
            load_experiment,
            run_experiment,
        )

        if out is not None:
            check_report_folder(out, "--out")
        path = experiment if experiment is not None else default_experiment_path()
        spec = load_experiment(path)
        folder = out if out is not None else Path("runs") / "experiments" / spec.name
        check_report_folder(folder, "--out")
        err = Console(stderr=True, highlight=False)

        def say(text: str) -> None:
            if not quiet:
                err.print(text, markup=False)

        def bar(description: str, samples: int) -> SampleBar:
            return SampleBar(description, samples, enabled=progress_enabled(quiet))

        result = run_experiment(spec, folder, say=say, bar=bar)
    out_console = console()
    if out_console.is_terminal:  # rich tables on a terminal; Markdown as it is when piped
        from rich.markdown import Markdown

        out_console.print(Markdown(result.summary_markdown))
    else:
        print(result.summary_markdown)
    print(f"report: {result.out}/ (report.html, summary.md, fidelity.md, plots, measurements)")
    _check_failures(result.failed, result.samples, allow_failures)


def _check_failures(failed: int, samples: int, allowed: int) -> None:
    """Say how many samples failed (one line on stderr); exit 1 when more than ``allowed``."""
    if failed:
        print_error(f"{failed} of {samples} samples failed; --allow-failures {allowed}")
    if failed > allowed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `worker`, `run` and the `testbed` sub-app to ``app``."""
    app.command("worker")(worker_command)
    app.command("run")(run_command)
    app.add_typer(testbed_app, name="testbed")
