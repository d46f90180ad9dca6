"""Backend registry: name -> MouthBackend class, imported only when asked for.

Importing a backend can pull in torch or OpenCV-heavy code; a worker that only uses `warp` should
never pay for `wav2lip`, and an unknown name is the user's mistake (InputError), not a crash.
"""

from __future__ import annotations

import importlib
import inspect

from synthesis.errors import InputError

BACKENDS: dict[str, tuple[str, str]] = {
    "warp": ("synthesis.backends.warp", "WarpBackend"),
    "wav2lip": ("synthesis.backends.wav2lip", "Wav2LipBackend"),
}


def backend_class(name: str) -> type:
    """The backend class registered under name."""
    if name not in BACKENDS:
        raise InputError(f"Unknown lip-sync backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}.")
    module, attr = BACKENDS[name]
    return getattr(importlib.import_module(module), attr)


def get_backend(name: str, device: str = "cpu", **options):
    """Build a backend; options it does not accept (e.g. checkpoint for warp) are dropped, None means default."""
    cls = backend_class(name)
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in {"device": device, **options}.items() if v is not None}
    if not takes_any:
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return cls(**kwargs)
