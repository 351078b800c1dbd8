"""The lowest layer: devices, seeding, tensor utilities, the registry of named parts, safe files."""

from lamina.core.device import default_device, to_device
from lamina.core.registry import lookup, register, registered_names
from lamina.core.seed import get_rng_state, set_rng_state, set_seed

__all__ = [
    "default_device",
    "get_rng_state",
    "lookup",
    "register",
    "registered_names",
    "set_rng_state",
    "set_seed",
    "to_device",
]
