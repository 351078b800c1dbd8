"""`lamina serve MODEL`: the prediction server (see `lamina.serve`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lamina.cli.options import positive_float, positive_int


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `lamina serve`."""
    parser = subparsers.add_parser(
        "serve", parents=parents, help="serve a model over HTTP, with a page at /",
        description="Serve an exported model: POST /predict (an image as multipart field "
        "'file', a JSON row, a JSON {user, item} pair or a text), GET /info, GET /health, and "
        "a page at GET /. Concurrent requests are batched. Needs lamina[serve].",
    )  # fmt: skip
    parser.add_argument("model", type=Path, help="the exported model file")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only)")  # fmt: skip
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--max-batch-size", type=positive_int, default=32,
                        help="most requests run in one batch (default 32)")  # fmt: skip
    parser.add_argument("--max-wait-ms", type=float, default=5.0,
                        help="most milliseconds a batch waits for requests still being read "
                        "(default 5; a lone request never waits)")  # fmt: skip
    parser.add_argument("--max-upload-mb", type=positive_float, default=10.0,
                        help="largest body in MiB; larger get 413 (default 10)")  # fmt: skip
    parser.add_argument("--max-pixels", type=positive_int, default=None,
                        help="largest image in pixels; larger ones get 413 (default: Pillow's "
                        "Image.MAX_IMAGE_PIXELS)")  # fmt: skip
    parser.add_argument("--device", default=None, help="torch device (default: the best one)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"],
                        help="uvicorn's log level (default info)")  # fmt: skip
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from lamina.serve.run import is_loopback, serve

    if not args.model.is_file():
        raise FileNotFoundError(f"no such file: {args.model}")
    if args.max_wait_ms < 0:
        raise ValueError(f"--max-wait-ms must be >= 0, got {args.max_wait_ms}")
    if not is_loopback(args.host):
        print(f"lamina: warning: serving on {args.host}, reachable from other machines; the "
              "server has no authentication", file=sys.stderr)  # fmt: skip
    serve(
        args.model,
        host=args.host,
        port=args.port,
        max_batch_size=args.max_batch_size,
        max_wait=args.max_wait_ms / 1000,
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        max_pixels=args.max_pixels,
        device=args.device,
        log_level=args.log_level,
    )
    return 0
