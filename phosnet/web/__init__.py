"""``phosnet serve``: a local web page and JSON API over the plain Python API.

* :mod:`phosnet.web.service` does the work without any web framework: reads uploaded FASTA under limits,
  runs scans, explanations, variants and site maps through the same library functions and writers as the
  CLI (so downloads are byte-identical to what ``phosnet scan`` / ``explain`` / ``variants`` write), and keeps
  jobs (progress, cancel, timeouts, a bounded number at once, private temporary folders);
* :mod:`phosnet.web.app` is the FastAPI application (page, static assets, ``/api/...``);
* ``static/`` holds the page's HTML, JS and CSS, shipped inside the package (no CDN).

FastAPI and uvicorn come with the ``[web]`` extra; :func:`require_web` says so in one line when they are
missing, before anything else is imported.
"""

from __future__ import annotations

from importlib.util import find_spec

from phosnet.errors import PhosnetError

WEB_EXTRA_HINT = 'phosnet serve needs the web extra: pip install "phosnet[web]"'
_WEB_MODULES = ("fastapi", "uvicorn", "python_multipart")


def require_web() -> None:
    """Raise a one-line :class:`~phosnet.errors.PhosnetError` naming the extra if a web module is missing."""
    missing = [name for name in _WEB_MODULES if find_spec(name) is None]
    if missing:
        raise PhosnetError(f"{WEB_EXTRA_HINT} (missing: {', '.join(missing)})")
