"""The prediction server: a Starlette app around one exported model.

Routes: `GET /` (the page), `GET /health`, `GET /info` (as `lamina info`), `POST /predict`
(an image as multipart field `file`, a JSON row, a JSON `{"user", "item"}` pair or a text,
as the model takes). The model is the one file named when the app is made: a request can
never name another. Inputs are read and checked (size, content type, pixel limit) on the
request's side, then batched with other requests (`lamina.serve.batching`) and run in one
worker thread, off the event loop.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from lamina.serve.batching import Batcher
from lamina.serve.inputs import RequestError, decode_image, read_input
from lamina.serve.page import page_html
from lamina.serve.predictors import Predictor, predictor_for, top_k

MAX_UPLOAD_BYTES = 10 * 2**20
TOP_K = 5
_log = logging.getLogger("lamina.serve")


def _max_pixels(max_pixels: int | None) -> int:
    if max_pixels is not None:
        return max_pixels
    from PIL import Image

    return int(Image.MAX_IMAGE_PIXELS or 2**63)


class PredictionService:
    """The loaded model, its predictor, its batcher and the limits requests are held to."""

    def __init__(
        self,
        model_path: str | Path,
        max_batch_size: int = 32,
        max_wait: float = 0.005,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        max_pixels: int | None = None,
        device: str | None = None,
    ) -> None:
        from lamina.cli.info import export_info
        from lamina.inference import load_learner

        if not (isinstance(max_upload_bytes, int) and max_upload_bytes >= 1):
            raise ValueError(
                f"max_upload_bytes must be a positive integer, got {max_upload_bytes!r}"
            )
        if max_pixels is not None and not (isinstance(max_pixels, int) and max_pixels >= 1):
            raise ValueError(f"max_pixels must be a positive integer or None, got {max_pixels!r}")
        self.info = export_info(model_path)
        self.learn = load_learner(model_path, device=device)
        self.predictor: Predictor = predictor_for(self.learn)
        self.batcher = Batcher(self.predictor.predict_many, max_batch_size, max_wait)
        self.max_upload_bytes, self.max_pixels = max_upload_bytes, _max_pixels(max_pixels)
        self.info = {**self.info, "input_kind": self.predictor.input_kind,
                     "columns": getattr(self.predictor, "columns", None)}  # fmt: skip

    async def predict(self, request: Request) -> dict[str, Any]:
        """Read, batch and predict one request; the record with `top` pairs."""
        prepare = None
        with self.batcher.arriving():
            kind = self.predictor.input_kind
            item = await read_input(request, kind, self.max_upload_bytes)
            # Decoding is CPU work, done off the event loop: alone, in the batcher's worker with
            # the forward (one thread hop); with company, here in parallel with the others.
            if kind == "image" and self.batcher.idle:
                prepare = functools.partial(decode_image, max_pixels=self.max_pixels)
            elif kind == "image":
                item = await run_in_threadpool(decode_image, item, self.max_pixels)
        record = await self.batcher.submit(item, prepare)
        return {**record, "top": top_k(record, self.predictor.labels, TOP_K)}


def create_app(model_path: str | Path, **options: Any) -> Starlette:
    """The server's app for the export at `model_path`; `options` go to `PredictionService`.

    Example:
        >>> app = create_app("digits.lamina", max_batch_size=32)
        >>> uvicorn.run(app, host="127.0.0.1", port=8000)
    """
    service = PredictionService(model_path, **options)

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page_html())

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def info(request: Request) -> JSONResponse:
        return JSONResponse(service.info)

    async def predict(request: Request) -> JSONResponse:
        try:
            return JSONResponse(await service.predict(request))
        except RequestError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        except ValueError as error:  # the library's bad-input rules (unknown user, ...)
            return JSONResponse({"error": str(error)}, status_code=422)
        except Exception:
            _log.exception("prediction failed")
            return JSONResponse({"error": "the prediction failed on the server"}, 500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.batcher.start()
        try:
            yield
        finally:
            await service.batcher.stop()

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/info", info, methods=["GET"]),
        Route("/predict", predict, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    return app
