"""The prediction server (`lamina serve`): one exported model behind `POST /predict`, with
server-side batching, `GET /info`, `GET /health` and a page at `GET /`.

Needs the `serve` extra (`pip install lamina[serve]`: Starlette, uvicorn, python-multipart);
nothing here is imported by `import lamina`.

Example:
    >>> from lamina.serve import create_app, serve
    >>> serve("digits.lamina", port=8000)  # or: lamina serve digits.lamina --port 8000
"""

from lamina.serve.run import create_app, serve

__all__ = ["create_app", "serve"]
