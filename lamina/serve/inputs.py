"""Reading a prediction request's input: an uploaded image, a JSON row, a pair or a text.

Every rule gives a `RequestError` with an HTTP status and a message the client can act on:
413 for a body over the size limit or an image over the pixel limit, 415 for a content type
the model does not take, 422 for a body that does not decode. Images are checked against the
pixel limit from their header, before any pixel is decoded.
"""

from __future__ import annotations

import io
import json
from typing import Any

from starlette.requests import Request


class RequestError(Exception):
    """A request the server refuses: `status` (4xx) and a one-line `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole body, refused with 413 as soon as it passes `max_bytes` (or says it will)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise RequestError(413, f"the request body is {declared} bytes; the limit is {max_bytes}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise RequestError(413, f"the request body passes the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _upload(request: Request, body: bytes) -> bytes:
    """The bytes of multipart field `file`, or of a raw `image/*` body."""
    media = _media_type(request)
    if media.startswith("image/") or media == "application/octet-stream":
        return body
    if media != "multipart/form-data":
        raise RequestError(
            415,
            f"send the image as multipart/form-data field 'file' or as a raw image/* body, "
            f"not {media or 'no content type'}",
        )

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
    except Exception as error:  # python-multipart and Starlette raise several kinds
        raise RequestError(422, f"the multipart body cannot be parsed: {error}") from None
    try:  # closing the form closes its spooled files
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise RequestError(422, "the multipart body has no file field named 'file'")
        return await upload.read()
    finally:
        await form.close()


def decode_image(data: bytes, max_pixels: int) -> Any:
    """Bytes -> a decoded PIL image, refusing images over `max_pixels` before decoding."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise RequestError(422, "the uploaded file is empty")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise RequestError(413, f"the image has too many pixels: {error}") from None
    except UnidentifiedImageError:
        raise RequestError(
            422, "the upload is not an image in a format this server reads"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise RequestError(422, f"the upload is not an image this server reads ({error})") from None
    width, height = image.size
    if width * height > max_pixels:
        raise RequestError(
            413,
            f"the image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}",
        )
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise RequestError(422, f"the image cannot be decoded: {error}") from None
    return image


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise RequestError(422, f"the body is not valid JSON: {error}") from None


def _row(request: Request, body: bytes) -> dict[str, Any]:
    if _media_type(request) != "application/json":
        raise RequestError(415, "send the row as an application/json object {column: value}")
    row = _json(body)
    row = row.get("row", row) if isinstance(row, dict) else row
    if not isinstance(row, dict):
        raise RequestError(422, f"the row must be a JSON object, got {type(row).__name__}")
    return row


def _pair(request: Request, body: bytes) -> tuple[Any, Any]:
    if _media_type(request) != "application/json":
        raise RequestError(415, 'send the pair as application/json {"user": ..., "item": ...}')
    pair = _json(body)
    if not isinstance(pair, dict) or "user" not in pair or "item" not in pair:
        raise RequestError(422, 'the body must be a JSON object {"user": ..., "item": ...}')
    return pair["user"], pair["item"]


def _text(request: Request, body: bytes) -> str:
    media = _media_type(request)
    if media == "application/json":
        value = _json(body)
        text = value.get("text") if isinstance(value, dict) else None
        if not isinstance(text, str):
            raise RequestError(422, 'the body must be a JSON object {"text": "..."}')
    elif media == "text/plain":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RequestError(422, f"the text is not UTF-8: {error}") from None
    else:
        shown = media or "no content type"
        raise RequestError(
            415, f'send text/plain or application/json {{"text": "..."}}, not {shown}'
        )
    if not text.strip():
        raise RequestError(422, "the text is empty: send at least one word to classify")
    return text


async def read_input(request: Request, kind: str, max_bytes: int) -> Any:
    """The model input of a `POST /predict` request for a model taking `kind` inputs (for
    images, the file's bytes: `decode_image` decodes them)."""
    body = await read_body(request, max_bytes)
    if kind == "image":
        return await _upload(request, body)
    if kind == "row":
        return _row(request, body)
    if kind == "pair":
        return _pair(request, body)
    return _text(request, body)
