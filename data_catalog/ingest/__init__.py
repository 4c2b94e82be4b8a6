"""Ingestion in one place: every file enters the data dir through `ingest`.

```
dispatch.py         ingest(data, SOURCE, PATH, IngestOptions) -> IngestOutcome: the one dispatcher
refusal.py          all or nothing: IngestRefused names every bad field by its line
pipeline_inputs.py  sources that feed the pipeline (wdpa, missing_migrants, flow_counts, ...)
flows.py            flow counts merged by (point, month); --replace on purpose
events.py           sources without coordinates of their own (IDMC GIDD) as a collection
rasters.py          user raster layers (COG + STAC item)
vectors.py          user vector layers (GeoParquet + STAC item)
install.py          write, then switch: staged files become a version, then the files in use
versions.py         the store of versions (VersionStore; FileVersionStore in the data dir)
```

Limits on what one file may make an ingest read and write are in `data_catalog.limits`.
"""

from typing import TYPE_CHECKING, Any

from data_catalog.ingest.install import LayerPublisher, rollback
from data_catalog.ingest.refusal import IngestRefused, report_document
from data_catalog.ingest.versions import (
    FileVersionStore,
    InputVersion,
    UnknownVersion,
    VersionStore,
    version_store,
)

if TYPE_CHECKING:
    from data_catalog.ingest.dispatch import IngestOptions, IngestOutcome, ingest, ingestible

_DISPATCH = frozenset({"IngestOptions", "IngestOutcome", "ingest", "ingestible"})


def __getattr__(name: str) -> Any:
    """The dispatcher's names, imported on first use: it imports every reader (xarray among
    them), which the service's exchange and version reads never need."""
    if name in _DISPATCH:
        from data_catalog.ingest import dispatch

        return getattr(dispatch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FileVersionStore",
    "IngestOptions",
    "IngestOutcome",
    "IngestRefused",
    "InputVersion",
    "LayerPublisher",
    "UnknownVersion",
    "VersionStore",
    "ingest",
    "ingestible",
    "report_document",
    "rollback",
    "version_store",
]
