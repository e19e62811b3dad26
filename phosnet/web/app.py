"""The FastAPI application of ``phosnet serve``: the page, its static assets and the JSON API.

Endpoints (OpenAPI at ``/openapi.json``; FastAPI's ``/docs`` pages are off: they load their scripts from a CDN):

* ``GET /api/models``: the models this server offers, the phosnet version;
* ``POST /api/scan``, ``/api/explain``, ``/api/variants``: answer at once (JSON, or ``format=tsv``/``gff3``/``svg``
  for exactly the CLI's file);
* ``POST /api/jobs``: a scan in the background; ``GET /api/jobs/{id}`` its progress and summary,
  ``DELETE`` cancels and removes it; ``/sites``, ``/download/{tsv|gff3}``, ``/map/{n}``, ``/explain/{n}/{position}``
  and ``POST /variants`` use its proteins and options.

Every error the user can fix is a 4xx JSON ``{"error": message}`` with the CLI's wording; anything else is a
500 with no traceback or path (the server log has them). Request bodies past the upload limit are refused
(413) while they arrive.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phosnet.errors import PhosnetError
from phosnet.web.jobs import Busy, Job, JobManager, LimitExceeded, Limits
from phosnet.web.service import (
    CallOptions,
    ModelStore,
    Record,
    ScanResult,
    explain_site,
    frame_json,
    parse_variant_lines,
    read_fasta_upload,
    run_scan,
    run_variants,
    settings_for,
    site_map,
    upload_name,
)

logger = logging.getLogger(__name__)

STATIC = Path(str(files("phosnet.web") / "static"))

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

MEDIA = {"tsv": "text/tab-separated-values; charset=utf-8", "gff3": "text/x-gff3; charset=utf-8",
         "svg": "image/svg+xml", "png": "image/png"}


# form fields shared by the endpoints (module level: FastAPI resolves the annotations in the module)
Model = Annotated[str | None, Form(description="a model name from /api/models (default: the server's)")]
Stringency = Annotated[str | None, Form(description="high, medium or low (top 0.2 / 1 / 5% of the background)")]
Threshold = Annotated[float | None, Form(description="instead: call a site when score >= this")]
Specificity = Annotated[float | None, Form(description="instead: the model's threshold at this specificity")]
Fasta = Annotated[str | None, Form(description="FASTA text (or upload `file`)")]
Upload = Annotated[UploadFile | None, File(description="a FASTA or FASTA.gz file")]


class HTTPError(Exception):
    """An answer other than 200 with a message (turned into ``{"error": message}``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with a 413: by ``Content-Length`` at once, else while they
    arrive (the body is never read past the limit)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body over this server's limit of {self.limit:,} bytes"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _error(413, message)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            received = await receive()
            if received["type"] == "http.request":
                seen += len(received.get("body", b""))
                if seen > self.limit:
                    raise LimitExceeded(message)
            return received

        async def sending(outgoing: Message) -> None:
            nonlocal started
            started = started or outgoing["type"] == "http.response.start"
            await send(outgoing)

        try:
            await self.app(scope, counted, sending)
        except LimitExceeded:
            if not started:
                await _error(413, message)(scope, receive, send)


def create_app(model: str | None = None, limits: Limits | None = None) -> FastAPI:
    """The application: ``model`` is the server's default model (a bundled name or an operator's path)."""
    from phosnet import __version__

    limits = limits or Limits()
    models = ModelStore(model)
    manager = JobManager(limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        await asyncio.to_thread(manager.close)

    app = FastAPI(title="phosnet", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Predict AKT kinase phosphosites: the JSON API of `phosnet serve`.")
    app.state.manager = manager
    app.state.models = models
    app.state.limits = limits

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(HTTPError)
    async def http_error(request: Request, exc: HTTPError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(LimitExceeded)
    async def too_large(request: Request, exc: LimitExceeded) -> JSONResponse:
        return _error(413, str(exc))

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        return _error(429, str(exc))

    @app.exception_handler(PhosnetError)
    async def user_error(request: Request, exc: PhosnetError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for item in exc.errors():
            where = ".".join(str(p) for p in item.get("loc", ())[1:]) or "request"
            problems.append(f"{where}: {item.get('msg', 'invalid')}")
        return _error(400, "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("internal error on %s", request.url.path)
        return _error(500, "internal error (the server's log has the details)")

    # ------------------------------------------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------------------------------------------
    async def fasta_records(fasta: str | None, file: UploadFile | None) -> list[Record]:
        if file is not None and file.filename:
            data = await file.read()
            name = upload_name(file.filename)
        else:
            data = (fasta or "").encode("utf-8")
            name = upload_name(None)
        return await asyncio.to_thread(read_fasta_upload, data, name, limits)

    async def answer(job: Job) -> Any:
        """Wait for a job that answers its request (at most the request timeout; then it is cancelled)."""
        assert job.future is not None
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job.future)), limits.request_timeout)
        except TimeoutError:
            job.cancel()
            raise HTTPError(504, f"stopped after the server's request time limit of {limits.request_timeout:g} s; "
                                 "use the page's background jobs (POST /api/jobs) for large inputs") from None
        except asyncio.CancelledError:  # the client went away
            job.cancel()
            raise
        if job.state != "done":
            raise HTTPError(job.status if job.state == "failed" else 499, job.error or job.state)
        return job.result

    def done_scan(job_id: str) -> ScanResult:
        job = manager.get(job_id)
        if job is None or job.kind != "scan":
            raise HTTPError(404, f"no job {job_id!r} (finished jobs are kept for {limits.job_ttl:g} s)")
        if job.state != "done":
            raise HTTPError(409, f"job {job_id} is {job.state}" + (f": {job.error}" if job.error else ""))
        assert isinstance(job.result, ScanResult)
        return job.result

    def options_of(model: str | None, stringency: str | None, threshold: float | None,
                   specificity: float | None) -> CallOptions:
        options = CallOptions(model or None, stringency or None, threshold, specificity)
        options.check()
        models.get(options.model)
        return options

    def download(data: bytes, fmt: str, name: str) -> Response:
        return Response(data, media_type=MEDIA[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})

    # ------------------------------------------------------------------------------------------------------
    # the page
    # ------------------------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/example", response_class=Response, summary="The bundled example proteins (FASTA)")
    async def example() -> Response:
        text = (files("phosnet") / "examples" / "akt_substrates.fasta").read_text(encoding="utf-8")
        return Response(text, media_type="text/plain; charset=utf-8")

    # ------------------------------------------------------------------------------------------------------
    # JSON API
    # ------------------------------------------------------------------------------------------------------
    @app.get("/api/models", summary="The models this server offers")
    async def api_models() -> dict[str, Any]:
        return {"phosnet_version": __version__, "default": models.default,
                "models": await asyncio.to_thread(models.describe),
                "limits": {"max_upload_bytes": limits.max_upload_bytes, "max_residues": limits.max_residues,
                           "max_jobs": limits.max_jobs, "request_timeout": limits.request_timeout}}

    @app.post("/api/scan", summary="Scan proteins (like `phosnet scan`)",
              description="Every candidate residue scored: JSON rows with the Python API's values (phosnet.predict), "
                          "or format=tsv/gff3 for exactly the file `phosnet scan -o x.tsv|x.gff3` writes.")
    async def api_scan(fasta: Fasta = None, file: Upload = None, model: Model = None, stringency: Stringency = None,
                       threshold: Threshold = None, specificity: Specificity = None,
                       format: Annotated[str, Form(pattern="^(json|tsv|gff3)$")] = "json",
                       predicted_only: Annotated[bool, Form()] = False) -> Response:
        options = options_of(model, stringency, threshold, specificity)
        records = await fasta_records(fasta, file)

        def work(job: Job) -> Any:
            settings = settings_for(models, options)
            result = run_scan(records, settings, options, job.folder, job=job, max_table_rows=1 << 62)
            if format != "json":
                return result.files[format].read_bytes()
            frame = result.frame[result.frame["predicted"]] if predicted_only else result.frame
            return {**result.summary(), **frame_json(frame)}

        if predicted_only and format != "json":
            raise HTTPError(400, "predicted_only is for JSON answers; the TSV/GFF3 downloads hold every site")
        result = await answer(manager.submit("scan", work, keep=False))
        if format == "json":
            return JSONResponse(result)
        return download(result, format, f"phosnet_scan.{format}")

    @app.post("/api/explain", summary="Explain sites (like `phosnet explain`)",
              description="Saturation mutagenesis of each site's window: JSON rows (phosnet.explain's values), "
                          "format=tsv for the CLI's table, svg/png for its heatmap + logo figure (one site).")
    async def api_explain(sites: Annotated[str, Form(description="PROTEIN:S473, one per line or comma-separated")],
                          fasta: Fasta = None, file: Upload = None, model: Model = None,
                          stringency: Stringency = None, threshold: Threshold = None,
                          specificity: Specificity = None,
                          format: Annotated[str, Form(pattern="^(json|tsv|svg|png)$")] = "json") -> Response:
        options = options_of(model, stringency, threshold, specificity)
        names = [s.strip() for s in sites.replace(",", "\n").splitlines() if s.strip()]
        records = await fasta_records(fasta, file)
        figure = format if format in {"svg", "png"} else None
        if figure and len(names) != 1:
            raise HTTPError(400, f"a {format} figure shows one site; {len(names)} given")

        def work(job: Job) -> Any:
            return explain_site(records, names, models, options, job.folder, figure=figure, job=job)

        result = await answer(manager.submit("explain", work, keep=False))
        if format == "json":
            return JSONResponse(result.as_json())
        return download(result.figure if figure else result.tsv, format, f"phosnet_explain.{format}")

    @app.post("/api/variants", summary="Score missense variants (like `phosnet variants`)",
              description="`protein variant` lines (e.g. `P49841 S9A`): the gain/loss table as JSON rows "
                          "(phosnet.score_variants' values), or format=tsv for the CLI's table.")
    async def api_variants(variants: Annotated[str, Form(description="'protein variant' lines")],
                           fasta: Fasta = None, file: Upload = None, model: Model = None,
                           stringency: Stringency = None, threshold: Threshold = None,
                           specificity: Specificity = None,
                           format: Annotated[str, Form(pattern="^(json|tsv)$")] = "json") -> Response:
        options = options_of(model, stringency, threshold, specificity)
        table = parse_variant_lines(variants)
        records = await fasta_records(fasta, file)

        def work(job: Job) -> Any:
            return run_variants(records, table, models, options, job.folder, job=job)

        result = await answer(manager.submit("variants", work, keep=False))
        if format == "json":
            return JSONResponse(result.as_json())
        return download(result.tsv, "tsv", "phosnet_variants.tsv")

    # ------------------------------------------------------------------------------------------------------
    # background jobs (the page)
    # ------------------------------------------------------------------------------------------------------
    @app.post("/api/jobs", status_code=202, summary="Start a scan in the background (progress, cancel)")
    async def start_job(fasta: Fasta = None, file: Upload = None, model: Model = None,
                        stringency: Stringency = None, threshold: Threshold = None,
                        specificity: Specificity = None) -> dict[str, Any]:
        options = options_of(model, stringency, threshold, specificity)
        records = await fasta_records(fasta, file)

        def work(job: Job) -> ScanResult:
            settings = settings_for(models, options)
            return run_scan(records, settings, options, job.folder, job=job, max_table_rows=limits.max_table_rows)

        return manager.submit("scan", work).status_dict()

    @app.get("/api/jobs/{job_id}", summary="A job's state, progress and (when done) summary")
    async def job_status(job_id: str) -> dict[str, Any]:
        job = manager.get(job_id)
        if job is None:
            raise HTTPError(404, f"no job {job_id!r}")
        return job.status_dict()

    @app.delete("/api/jobs/{job_id}", summary="Cancel a job and remove it and its files")
    async def cancel_job(job_id: str) -> dict[str, Any]:
        if not manager.drop(job_id):
            raise HTTPError(404, f"no job {job_id!r}")
        return {"id": job_id, "state": "cancelled"}

    @app.get("/api/jobs/{job_id}/sites", summary="The scan's rows (the Python API's values)")
    async def job_sites(job_id: str, protein: int | None = None) -> dict[str, Any]:
        result = done_scan(job_id)
        frame = result.frame
        if protein is not None:
            frame = frame[frame["protein_id"] == result.protein_number(protein)[0]]
        return {**result.summary(), **frame_json(frame)}

    @app.get("/api/jobs/{job_id}/download/{fmt}", summary="The scan's TSV or GFF3, as `phosnet scan` writes it")
    async def job_download(job_id: str, fmt: str) -> FileResponse:
        if fmt not in {"tsv", "gff3"}:
            raise HTTPError(404, f"downloads are tsv or gff3, not {fmt!r}")
        result = done_scan(job_id)
        return FileResponse(result.files[fmt], media_type=MEDIA[fmt], filename=f"phosnet_scan.{fmt}")

    @app.get("/api/jobs/{job_id}/map/{number}", summary="A protein's site map (`phosnet map`), svg or png")
    async def job_map(job_id: str, number: int, format: str = "svg") -> Response:
        result = done_scan(job_id)
        record = result.protein_number(number)
        if format not in {"svg", "png"}:
            raise HTTPError(400, f"figure format must be svg or png, not {format!r}")

        def work(job: Job) -> bytes:
            return site_map(record, models, result.options, job.folder, format)

        data = await answer(manager.submit("map", work, keep=False, quick=True))
        return Response(data, media_type=MEDIA[format])

    @app.get("/api/jobs/{job_id}/explain/{number}/{position}",
             summary="A site's explanation: figure (svg/png), table (json) or the CLI's TSV")
    async def job_explain(job_id: str, number: int, position: int, format: str = "svg") -> Response:
        result = done_scan(job_id)
        protein_id = result.protein_number(number)[0]
        if format not in {"svg", "png", "json", "tsv"}:
            raise HTTPError(400, f"format must be svg, png, json or tsv, not {format!r}")
        figure = format if format in {"svg", "png"} else None

        def work(job: Job) -> Any:
            return explain_site(result.records, [(protein_id, position)], models, result.options, job.folder,
                                figure=figure, job=job)

        table = await answer(manager.submit("explain", work, keep=False, quick=True))
        if figure:
            return Response(table.figure, media_type=MEDIA[figure])
        if format == "tsv":
            return download(table.tsv, "tsv", "phosnet_explain.tsv")
        return JSONResponse(table.as_json())

    @app.post("/api/jobs/{job_id}/variants", summary="Variants on the job's proteins, with its options")
    async def job_variants(job_id: str, variants: Annotated[str, Form()],
                           format: Annotated[str, Form(pattern="^(json|tsv)$")] = "json") -> Response:
        result = done_scan(job_id)
        table = parse_variant_lines(variants)

        def work(job: Job) -> Any:
            return run_variants(result.records, table, models, result.options, job.folder, job=job)

        answered = await answer(manager.submit("variants", work, keep=False))
        if format == "tsv":
            return download(answered.tsv, "tsv", "phosnet_variants.tsv")
        return JSONResponse(answered.as_json())

    app.add_middleware(BodyLimit, limit=limits.max_upload_bytes + (1 << 20))  # the form fields besides the file
    return app
