"""rio-tiler without its xarray reader, so that the service never imports xarray or dask.

rio-tiler loads its optional `XarrayReader` with the package, and with it xarray and
rioxarray, which imports dask: about a second of start-up and a few hundred modules that no
tile, legend or map uses. `import_rio_tiler` imports rio-tiler once with those two modules
hidden, so it takes the path it takes when they are not installed. Nothing else changes: a
later `import xarray` in the same process (the pipeline's, when the command line runs one)
imports it as usual.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

UNUSED_BY_THE_SERVICE = ("xarray", "rioxarray")
"""Optional imports of rio-tiler that only its `XarrayReader` needs."""


@contextmanager
def hidden(*names: str) -> Iterator[None]:
    """Within the block, `import <name>` fails as if the module were not installed (for each
    name not imported yet)."""
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # the documented import blocker
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


def import_rio_tiler() -> None:
    """Import rio-tiler, without xarray and rioxarray unless they are imported already."""
    if "rio_tiler" in sys.modules:
        return
    with hidden(*UNUSED_BY_THE_SERVICE):
        import rio_tiler  # noqa: F401
