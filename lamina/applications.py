"""Imports every application package so that their export builders are registered."""

import lamina.collab  # noqa: F401
import lamina.tabular  # noqa: F401
import lamina.text  # noqa: F401
import lamina.train.model_app  # noqa: F401  (registered models on self-describing data)
import lamina.vision  # noqa: F401
