"""`/stac`: the STAC catalog of sources, kept runs and user layers, as service URLs.

Every href is a URL of this service: items come from each run's own catalog (written by the
pipeline) with their links rewritten, and assets are downloaded through
`/stac/.../items/{item}/data`, looked up by id, never by a path from the client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pystac
from fastapi import APIRouter
from fastapi.responses import FileResponse

from data_catalog.paths import SAFE_ID
from data_catalog.problems import NotFound
from data_catalog.runs import RUN_MANIFEST, complete_runs
from data_catalog.sources import Source, load_sources
from data_catalog.stac import cmrisk_fields, read_items
from geo_service.auth import ALL_SCOPES, Principal, PrincipalDep, visible_layers
from geo_service.deps import BaseUrlDep, RegistryDep
from layers.registry import USER_LAYER_ITEM, Registry

router = APIRouter(prefix="/stac", tags=["stac"])
STAC_VERSION = "1.1.0"
JSON = "application/json"
GEOJSON = "application/geo+json"


def _link(rel: str, href: str, media: str = JSON, title: str | None = None) -> dict[str, str]:
    link = {"rel": rel, "href": href, "type": media}
    if title:
        link["title"] = title
    return link


def _catalog(base: str, path: str, id_: str, description: str,
             children: list[dict[str, str]], parent: str | None) -> dict[str, Any]:
    links = [_link("self", f"{base}{path}"), _link("root", f"{base}/stac")]
    if parent is not None:
        links.append(_link("parent", f"{base}{parent}"))
    return {"type": "Catalog", "stac_version": STAC_VERSION, "id": id_,
            "description": description, "links": links + children}


def _runs(registry: Registry) -> dict[str, Path]:
    return {folder.name: folder for folder in complete_runs(registry.store)}


def _user_items(registry: Registry, principal: Principal) -> dict[str, Path]:
    visible = visible_layers(registry, principal)
    folder = registry.data.layers
    return {p.parent.name: p for p in sorted(folder.glob(f"*/{USER_LAYER_ITEM}"))
            if p.parent.name in visible}


@router.get("", summary="The STAC root catalog")
def root(base: BaseUrlDep, registry: RegistryDep) -> dict[str, Any]:
    """Links to the sources, the kept runs and the user layers."""
    current = registry.run_manifest() or {}
    children = [
        _link("child", f"{base}/stac/sources", title="Data sources"),
        _link("child", f"{base}/stac/runs", title="Pipeline runs"),
        _link("child", f"{base}/stac/user-layers", title="User layers"),
    ]
    if current.get("run_id"):
        children.append(_link("child", f"{base}/stac/runs/{current['run_id']}",
                              title="Current run"))
    return _catalog(base, "/stac", "cmrisk", "Everything cmrisk holds and produces.", children,
                    None)


@router.get("/sources", summary="Data sources")
def sources(base: BaseUrlDep) -> dict[str, Any]:
    """One child collection per known data source."""
    children = [_link("child", f"{base}/stac/sources/{s.id}", title=s.title)
                for s in load_sources().values()]
    return _catalog(base, "/stac/sources", "cmrisk-sources",
                    "Sources cmrisk reads (formats, licences, access).", children, "/stac")


def _source_collection(source: Source, base: str) -> dict[str, Any]:
    return {
        "type": "Collection", "stac_version": STAC_VERSION, "id": f"source-{source.id}",
        "title": source.title, "description": f"{source.title}. {source.citation}".strip(),
        "license": "other",
        "providers": [{"name": source.provider, "roles": ["producer", "licensor"],
                       "url": source.landing_page}],
        "extent": {"spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
                   "temporal": {"interval": [[None, None]]}},
        "keywords": [v.name for v in source.variables],
        "cmrisk:access": source.access, "cmrisk:licence": source.licence,
        "cmrisk:update_frequency": source.update_frequency,
        "cmrisk:formats": [f.name for f in source.formats],
        "links": [
            _link("self", f"{base}/stac/sources/{source.id}"), _link("root", f"{base}/stac"),
            _link("parent", f"{base}/stac/sources"),
            _link("about", source.landing_page, "text/html", "Provider's page"),
            _link("license", source.landing_page, "text/html", source.licence[:200]),
        ],
    }


@router.get("/sources/{source_id}", summary="One data source")
def source(source_id: str, base: BaseUrlDep) -> dict[str, Any]:
    """A source as a STAC collection (licence, provider, formats, access)."""
    known = load_sources()
    if source_id not in known:
        raise NotFound(f"no source {source_id[:80]!r}", parameter="source_id")
    return _source_collection(known[source_id], base)


@router.get("/runs", summary="Kept pipeline runs")
def runs(base: BaseUrlDep, registry: RegistryDep) -> dict[str, Any]:
    """One child collection per kept run, newest first."""
    children = [_link("child", f"{base}/stac/runs/{run_id}", title=f"run {run_id}")
                for run_id in sorted(_runs(registry), reverse=True)]
    return _catalog(base, "/stac/runs", "cmrisk-runs", "Kept pipeline runs.", children, "/stac")


def _run_folder(registry: Registry, run_id: str) -> Path:
    folder = _runs(registry).get(run_id) if SAFE_ID.fullmatch(run_id) else None
    if folder is None:
        raise NotFound(f"no kept run {run_id[:80]!r}", parameter="run_id")
    return folder


def _item_json(item: pystac.Item, base: str, prefix: str, collection: str) -> dict[str, Any]:
    body = item.to_dict(include_self_link=False, transform_hrefs=False)
    body["collection"] = collection
    body["links"] = [
        _link("self", f"{base}{prefix}/items/{item.id}", GEOJSON), _link("root", f"{base}/stac"),
        _link("parent", f"{base}{prefix}"), _link("collection", f"{base}{prefix}"),
    ]
    for asset in body["assets"].values():
        asset["href"] = f"{base}{prefix}/items/{item.id}/data"
    return body


def _collection(base: str, prefix: str, id_: str, description: str,
                items: list[pystac.Item]) -> dict[str, Any]:
    boxes = [item.bbox for item in items if item.bbox] or [[-180.0, -90.0, 180.0, 90.0]]
    union = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
             max(b[3] for b in boxes)]
    times: list[str | None] = [None]
    stamps = sorted(item.datetime.isoformat() for item in items if item.datetime)
    if stamps:
        times = list(stamps)
    links = [_link("self", f"{base}{prefix}"), _link("root", f"{base}/stac"),
             _link("parent", f"{base}{prefix.rsplit('/', 1)[0]}")]
    links += [_link("item", f"{base}{prefix}/items/{item.id}", GEOJSON, item.id)
              for item in items]
    return {"type": "Collection", "stac_version": STAC_VERSION, "id": id_,
            "description": description, "license": "other",
            "extent": {"spatial": {"bbox": [union]},
                       "temporal": {"interval": [[times[0], times[-1]]]}},
            "links": links}


def _run_items(folder: Path, principal: Principal) -> dict[str, pystac.Item]:
    """The run's items that the caller may see (restricted ones need a scoped token)."""
    items = {}
    for item in read_items(folder / "catalog.json"):
        restricted = cmrisk_fields(item).get("access") == "restricted"
        if not restricted or ALL_SCOPES in principal.scopes or item.id in principal.scopes:
            items[item.id] = item
    return items


@router.get("/runs/{run_id}", summary="One run")
def run_collection(run_id: str, base: BaseUrlDep, registry: RegistryDep,
                   principal: PrincipalDep) -> dict[str, Any]:
    """A kept run as a collection of its layers."""
    folder = _run_folder(registry, run_id)
    items = list(_run_items(folder, principal).values())
    return _collection(base, f"/stac/runs/{run_id}", f"run-{run_id}",
                       f"cmrisk pipeline run {run_id} ({(folder / RUN_MANIFEST).name}).", items)


@router.get("/runs/{run_id}/items/{item_id}", summary="One layer of a run")
def run_item(run_id: str, item_id: str, base: BaseUrlDep, registry: RegistryDep,
             principal: PrincipalDep) -> dict[str, Any]:
    """A run layer's STAC item (projection, raster and file fields; provenance)."""
    items = _run_items(_run_folder(registry, run_id), principal)
    if item_id not in items:
        raise NotFound(f"no item {item_id[:80]!r} in run {run_id}", parameter="item_id")
    return _item_json(items[item_id], base, f"/stac/runs/{run_id}", f"run-{run_id}")


@router.get("/runs/{run_id}/items/{item_id}/data", summary="Download a run layer's file",
            response_class=FileResponse)
@router.head("/runs/{run_id}/items/{item_id}/data", include_in_schema=False)
def run_item_data(run_id: str, item_id: str, registry: RegistryDep,
                  principal: PrincipalDep) -> FileResponse:
    """The COG or GeoParquet file of a run layer."""
    items = _run_items(_run_folder(registry, run_id), principal)
    if item_id not in items:
        raise NotFound(f"no item {item_id[:80]!r} in run {run_id}", parameter="item_id")
    return _file(items[item_id], f"{run_id}-{item_id}")


def _file(item: pystac.Item, stem: str) -> FileResponse:
    asset = item.assets["data"]
    path = Path(asset.get_absolute_href() or "")
    return FileResponse(path, media_type=asset.media_type,
                        filename=f"{stem}{path.suffix}")


def _user_layer_items(registry: Registry, principal: Principal) -> dict[str, pystac.Item]:
    items = {}
    for layer_id, path in _user_items(registry, principal).items():
        item = pystac.Item.from_file(str(path))
        item.make_asset_hrefs_absolute()
        items[layer_id] = item
    return items


@router.get("/user-layers", summary="User layers")
def user_layers(base: BaseUrlDep, registry: RegistryDep,
                principal: PrincipalDep) -> dict[str, Any]:
    """The user layers the caller may see, as one collection."""
    items = list(_user_layer_items(registry, principal).values())
    return _collection(base, "/stac/user-layers", "user-layers",
                       "Layers added with `cmrisk ingest raster|vector`.", items)


@router.get("/user-layers/items/{item_id}", summary="One user layer")
def user_layer_item(item_id: str, base: BaseUrlDep, registry: RegistryDep,
                    principal: PrincipalDep) -> dict[str, Any]:
    """A user layer's STAC item."""
    items = _user_layer_items(registry, principal)
    if item_id not in items:
        raise NotFound(f"no user layer {item_id[:80]!r}", parameter="item_id")
    return _item_json(items[item_id], base, "/stac/user-layers", "user-layers")


@router.get("/user-layers/items/{item_id}/data", summary="Download a user layer's file",
            response_class=FileResponse)
@router.head("/user-layers/items/{item_id}/data", include_in_schema=False)
def user_layer_data(item_id: str, registry: RegistryDep,
                    principal: PrincipalDep) -> FileResponse:
    """The file of a user layer."""
    items = _user_layer_items(registry, principal)
    if item_id not in items:
        raise NotFound(f"no user layer {item_id[:80]!r}", parameter="item_id")
    return _file(items[item_id], item_id)
