"""Finding image files: `get_image_files` and the extensions it looks for."""

from __future__ import annotations

from lamina.data.getters import FileGetter

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".ppm", ".tif", ".tiff", ".webp")

get_image_files = FileGetter(IMAGE_EXTENSIONS, name="get_image_files")
"""Image files (by extension) under `path`, sorted: `get_image_files(path, recurse, folders)`."""
