"""``phosnet serve``: the local web page and JSON API (:mod:`phosnet.web`), on uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys

import click

from phosnet.cli._options import model_option

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (``127.0.0.0/8``, ``::1``, ``localhost``).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("::1")
    (True, True, False, True)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option("--host", default="127.0.0.1", help="Address to listen on (another than loopback: anyone who can "
                                                  "reach it can use the page).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, help="Port (0: any free port).")
@model_option
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default web browser.")
@click.option("--max-upload-mb", type=click.FloatRange(min=0.001), default=64.0, help="Largest request body.")
@click.option("--max-residues", type=click.IntRange(min=1), default=30_000_000, help="Most residues per input.")
@click.option("--max-jobs", type=click.IntRange(min=1), default=2, help="Scoring jobs at once (others wait).")
@click.option("--timeout", "request_timeout", type=click.FloatRange(min=1), default=300.0,
              help="Seconds an answer-at-once request (/api/scan ...) may take; background jobs get --job-timeout.")
@click.option("--job-timeout", type=click.FloatRange(min=1), default=3600.0, help="Seconds a background job may run.")
def serve(host: str, port: int, model: str | None, open_browser: bool, max_upload_mb: float, max_residues: int,
          max_jobs: int, request_timeout: float, job_timeout: float) -> None:
    """Start the phosnet web page and JSON API on this machine; Ctrl-C stops it.

    Paste or upload FASTA, pick model and stringency, sort and filter the sites, see each protein's site map
    and a site's explanation, score variants, download the CLI's TSV/GFF3. OpenAPI description at /openapi.json.

    \b
    Example:
      pip install "phosnet[web]" && phosnet serve --open
    """
    from phosnet.web import require_web

    require_web()  # one line naming the extra, before anything heavy
    if model is not None and not model.strip():
        from phosnet.errors import InputError

        raise InputError("--model is empty; give a bundled model name, a .keras file or a run folder")

    import uvicorn

    from phosnet.web.app import create_app
    from phosnet.web.jobs import Limits

    limits = Limits(max_upload_bytes=int(max_upload_mb * (1 << 20)), max_residues=max_residues, max_jobs=max_jobs,
                    request_timeout=request_timeout, job_timeout=job_timeout)
    app = create_app(model, limits)  # loads the model now: a bad --model is one line before any socket
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        from phosnet.errors import PhosnetError

        raise PhosnetError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    bound = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
    url = f"http://{shown}:{bound}/"
    if not is_loopback(host):
        click.echo(f"phosnet serve: warning: listening on {host}: anyone who can reach this address can use the "
                   "page and its CPU", err=True)
    click.echo(f"phosnet serve: {url} (model {app.state.models.default}; API {url}openapi.json; Ctrl-C stops)",
               err=False)
    sys.stdout.flush()  # the address is what a script or test waits for
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5, access_log=False)
    server = uvicorn.Server(config)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, (url,)).start()
    server.run(sockets=[sock])
