"""`serve`: run the prediction server with uvicorn; `create_app` without running it."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"


def _check_serve_extra() -> None:
    try:
        import multipart  # noqa: F401  (python-multipart, for uploads)
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"lamina serve needs the serve extra ({error.name} is missing): "
            "pip install 'lamina[serve]'"
        ) from None


def create_app(model_path: str | Path, **options: Any) -> Any:
    """The Starlette app serving the export at `model_path` (see `lamina.serve.app`)."""
    _check_serve_extra()
    from lamina.serve.app import create_app as make

    return make(model_path, **options)


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    model_path: str | Path,
    host: str = LOOPBACK,
    port: int = 8000,
    log_level: str = "info",
    **options: Any,
) -> None:
    """Serve the export at `model_path` on `host:port` until interrupted.

    Binds to 127.0.0.1 unless told otherwise: the server has no authentication, so expose it
    on a network only behind something that has. `options` go to `create_app`
    (`max_batch_size`, `max_wait`, `max_upload_bytes`, `max_pixels`, `device`).
    """
    if not (isinstance(port, int) and 0 <= port <= 65535):
        raise ValueError(f"port must be an integer in [0, 65535], got {port!r}")
    app = create_app(model_path, **options)
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level)
