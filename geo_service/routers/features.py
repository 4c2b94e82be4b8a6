"""OGC API - Features Part 1 (Core, GeoJSON) and Part 3 queryables, plus whole-result downloads.

`/conformance`, `/collections`, `/collections/{collectionId}`, `.../queryables`, `.../items`,
`.../items/{featureId}` and `.../download?f=geojson|csv|gpkg`. Query parameters are declared
once (`filter_params`, `page_params`); the property filters of each collection are declared in
the OpenAPI document under that collection's own items path (see `install`).
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import WithJsonSchema

from data_catalog.problems import InvalidParameter
from geo_service.auth import get_principal, visible_layers
from geo_service.deps import base_url
from geo_service.features import cql, encode
from geo_service.features.model import (
    CRS84,
    KIND_SCHEMAS,
    BBox,
    CollectionInfo,
    FeatureBatch,
    FeatureQuery,
    FeatureStore,
    Interval,
    VisibleFeatureStore,
)
from geo_service.features.query import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    parse_bbox,
    parse_datetime,
    parse_limit,
    parse_offset,
)
from geo_service.regions import region_services
from layers.fields import FieldTexts

router = APIRouter(tags=["features"])

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
)
"""What this service conforms to: no HTML encoding, no OpenAPI 3.0 document (it serves 3.1),
no other CRS than CRS84 (Part 2); CQL2 filters as `geo_service.features.cql` reads them."""

JSON = "application/json"
SCHEMA_JSON = "application/schema+json"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
TRS_GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
FILTER_PARAMETERS = frozenset({"filter", "filter-lang", "filter-crs"})
ITEMS_PARAMETERS = frozenset({"bbox", "datetime", "limit", "offset", "f"}) | FILTER_PARAMETERS
DOWNLOAD_PARAMETERS = frozenset({"bbox", "datetime", "f"}) | FILTER_PARAMETERS
DOWNLOAD_FORMATS = {"geojson": (encode.GEOJSON, "geojson"), "csv": (encode.CSV, "csv"),
                    "gpkg": (encode.GPKG, "gpkg")}


async def get_feature_store(request: Request) -> FeatureStore:
    """The feature store of the request's region as this caller sees it: restricted
    collections only with a token scoped to them (otherwise they do not exist)."""
    principal = get_principal(request)
    services = region_services(request)
    layers = services.registry.layers()

    def visible(collection_id: str) -> bool:
        layer = layers.get(collection_id)
        return layer is not None and principal.can_read(layer)

    return VisibleFeatureStore(services.features(), visible)


FeatureStoreDep = Annotated[FeatureStore, Depends(get_feature_store)]


async def public_base(request: Request) -> str:
    """`deps.base_url`, resolved on the event loop (a sync dependency costs a thread hop)."""
    return base_url(request)


BaseDep = Annotated[str, Depends(public_base)]


@dataclass(frozen=True)
class FilterParams:
    """The standard filters of `/items` and `/download`, parsed (property filters apart)."""

    bbox: BBox | None
    datetime: Interval | None
    filter: str | None = None
    filter_lang: str | None = None


@dataclass(frozen=True)
class PageParams:
    """Paging of `/items`."""

    limit: int
    offset: int


async def filter_params(
    bbox: Annotated[str | None, Query(
        description="Only features that intersect the box `west,south,east,north` (CRS84 "
                    "degrees; 6 numbers with heights also accepted). A west east of the east "
                    "crosses the antimeridian.",
        examples=["-78.5,7.5,-77.0,8.8"])] = None,
    datetime_: Annotated[str | None, Query(
        alias="datetime",
        description="Only features whose time intersects an instant (`2023-05-01T00:00:00Z`, or"
                    " a date for the whole day) or an interval `start/end`, `..` for an open "
                    "end.", examples=["2023-01-01/2023-12-31"])] = None,
    filter_: Annotated[str | None, Query(
        alias="filter",
        description="Only features for which this CQL2 expression is true (OGC API - Features "
                    "Part 3): comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT on the "
                    "queryable properties, S_INTERSECTS etc. on `geometry`.",
        examples=["total > 1000 AND nationality = 'VEN'"])] = None,
    filter_lang: Annotated[str | None, Query(
        alias="filter-lang",
        description="The filter's language: cql2-text (default, `cql-text` is an alias) or "
                    "cql2-json."),
        WithJsonSchema({"type": "string", "enum": list(cql.LANGS)})] = None,
    filter_crs: Annotated[str | None, Query(
        alias="filter-crs", description=f"The CRS of the filter's geometries: only {CRS84}."),
        WithJsonSchema({"type": "string", "enum": [CRS84]})] = None,
) -> FilterParams:
    """Parse `bbox` and `datetime`, check `filter-lang` and `filter-crs`; a bad value is a 400
    naming its parameter (the filter itself is parsed against its collection)."""
    if filter_crs is not None and filter_crs != CRS84:
        raise InvalidParameter(f"filter-crs must be {CRS84}", parameter="filter-crs")
    if filter_ is None and filter_lang is not None:
        raise InvalidParameter("filter-lang needs a filter", parameter="filter-lang")
    if filter_lang is not None:
        cql.filter_lang(filter_lang, filter_ or "")
    return FilterParams(bbox=parse_bbox(bbox) if bbox is not None else None,
                        datetime=parse_datetime(datetime_) if datetime_ is not None else None,
                        filter=filter_, filter_lang=filter_lang)


async def page_params(
    # Declared as integers in the OpenAPI document but parsed here, so that a bad value is
    # the 400 OGC API - Features asks for (naming the parameter) and a large one is clamped.
    limit: Annotated[str | int, Query(
        description=f"Features per page, 1 to {MAX_LIMIT}; a larger value is served as "
                    f"{MAX_LIMIT}."),
        WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})] = DEFAULT_LIMIT,
    offset: Annotated[str | int, Query(
        description="Features to skip (paging; the `next` link carries it)."),
        WithJsonSchema({"type": "integer", "minimum": 0})] = 0,
) -> PageParams:
    """Parse `limit` (clamped to the maximum) and `offset`; a bad value is a 400 naming it."""
    return PageParams(limit=parse_limit(str(limit)), offset=parse_offset(str(offset)))


FilterDep = Annotated[FilterParams, Depends(filter_params)]
PageDep = Annotated[PageParams, Depends(page_params)]


def feature_query(filters: FilterParams, properties: dict[str, str], info: CollectionInfo,
                  page: PageParams | None = None) -> FeatureQuery:
    """The store query of a request (its CQL2 filter typed against the collection)."""
    expression = (cql.parse_filter(filters.filter, filters.filter_lang, info)
                  if filters.filter is not None else None)
    return FeatureQuery(bbox=filters.bbox, datetime=filters.datetime, properties=properties,
                        limit=page.limit if page else MAX_LIMIT,
                        offset=page.offset if page else 0, filter=expression)


def _format(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidParameter(f"f must be one of {', '.join(allowed)}", parameter="f")
    return value


async def json_format(
    f: Annotated[str, Query(description="Response format: json."),
                 WithJsonSchema({"type": "string", "enum": ["json"]})] = "json",
) -> str:
    """The `f` of JSON resources."""
    return _format(f, ("json",))


async def page_format(
    f: Annotated[str, Query(description="Response format: geojson (default) or json; "
                                   "both give the GeoJSON page."),
                 WithJsonSchema({"type": "string", "enum": ["geojson", "json"]})] = "geojson",
) -> str:
    """The `f` of feature pages."""
    return _format(f, ("geojson", "json"))


async def download_format(
    f: Annotated[str, Query(description="File format: geojson (default), csv or gpkg."),
                 WithJsonSchema({"type": "string", "enum": list(DOWNLOAD_FORMATS)})] = "geojson",
) -> str:
    """The `f` of downloads."""
    return _format(f, tuple(DOWNLOAD_FORMATS))


def property_filters(request: Request, info: CollectionInfo,
                     reserved: frozenset[str]) -> dict[str, str]:
    """The equality filters of a request; any other unknown parameter is a 400 naming it."""
    filters: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in reserved:
            continue
        if info.queryable(name) is None:
            raise InvalidParameter(
                f"{name!r} is not a parameter or queryable property of {info.id}; see "
                f"/collections/{info.id}/queryables", parameter=name[:100])
        if name in filters:
            raise InvalidParameter(f"{name} is given twice", parameter=name)
        filters[name] = value
    return filters


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def collection_json(info: CollectionInfo, base: str) -> dict[str, Any]:
    """A collection in the OGC API - Features shape, with cmrisk's layer fields."""
    href = f"{base}/collections/{info.id}"
    extent: dict[str, Any] = {"spatial": {
        "bbox": [list(info.bbox) if info.bbox else [-180.0, -90.0, 180.0, 90.0]], "crs": CRS84}}
    if info.interval is not None:
        extent["temporal"] = {"interval": [list(info.interval)], "trs": TRS_GREGORIAN}
    links = [
        {"href": href, "rel": "self", "type": JSON, "title": "This collection"},
        {"href": f"{href}/items", "rel": "items", "type": encode.GEOJSON, "title": "Features"},
        {"href": f"{href}/queryables", "rel": REL_QUERYABLES, "type": SCHEMA_JSON,
         "title": "Queryable properties"},
    ]
    links += [{"href": f"{href}/download?f={fmt}", "rel": "enclosure", "type": media,
               "title": f"Download ({fmt})"} for fmt, (media, _) in DOWNLOAD_FORMATS.items()]
    links.append({"href": f"{base}/layers/{info.id}", "rel": "describedby", "type": JSON,
                  "title": "Layer metadata and legend"})
    return {
        "id": info.id, "title": info.title, "description": info.description,
        "itemType": "feature", "crs": [CRS84], "extent": extent,
        "numberOfFeatures": info.number_of_features, "geometryType": info.geometry_type,
        "timeProperty": info.time_property, "valueType": info.value_type, "units": info.units,
        "synthetic": info.synthetic, "attribution": info.attribution, "links": links,
    }


@router.get("/conformance", summary="Conformance classes")
def conformance(base: BaseDep, f: Annotated[str, Depends(json_format)]) -> dict[str, Any]:
    """The OGC conformance classes this service implements, and nothing more."""
    return {"conformsTo": list(CONFORMANCE),
            "links": [{"href": f"{base}/conformance", "rel": "self", "type": JSON}]}


@router.get("/collections", summary="Feature collections")
def list_collections(store: FeatureStoreDep, base: BaseDep,
                     f: Annotated[str, Depends(json_format)]) -> dict[str, Any]:
    """Every vector layer (and the protected crossings table) as a feature collection."""
    collections = [collection_json(info, base) for info in store.collections()]
    return {"collections": collections,
            "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON}]}


@router.get("/collections/{collectionId}", summary="One feature collection")
def get_collection(collectionId: str, store: FeatureStoreDep, base: BaseDep,
                   f: Annotated[str, Depends(json_format)]) -> dict[str, Any]:
    """A collection's extent, queryables and links; 404 problem+json when unknown."""
    return collection_json(store.collection(collectionId), base)


@router.get("/collections/{collectionId}/queryables", summary="Queryable properties",
            response_class=Response,
            responses={200: {"content": {SCHEMA_JSON: {"schema": {"type": "object"}}}}})
def get_queryables(collectionId: str, request: Request, store: FeatureStoreDep, base: BaseDep,
                   f: Annotated[str, Depends(json_format)]) -> Response:
    """The properties that take equality filters on `/items`, as a JSON Schema (each with
    its title, description and units)."""
    info = store.collection(collectionId)
    texts = field_texts(request)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{info.id}/queryables",
        "type": "object", "title": info.title,
        "properties": {
            **{q.name: texts.schema(q.name, q.schema()) for q in info.queryables
               if q.name not in ITEMS_PARAMETERS},
            cql.GEOMETRY_QUERYABLE: {"title": "Geometry", "format": "geometry-any",
                                     "description": "The feature geometry (CRS84), for "
                                     "S_INTERSECTS and the other spatial functions of filter"},
        },
        "additionalProperties": False,
    }
    return Response(encode._dumps(schema), media_type=SCHEMA_JSON)


def _link(base: str, path: str, params: list[tuple[str, str]], rel: str, media: str,
          title: str) -> dict[str, str]:
    query = f"?{urlencode(params)}" if params else ""
    return {"href": f"{base}{path}{query}", "rel": rel, "type": media, "title": title}


def _with_offset(request: Request, offset: int) -> list[tuple[str, str]]:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
    return [*params, ("offset", str(offset))] if offset else params


@router.get("/collections/{collectionId}/items", summary="Features of a collection",
            response_class=Response,
            responses={200: {"content": {encode.GEOJSON: {"schema": {"type": "object"}}},
                             "description": "A GeoJSON FeatureCollection (RFC 7946)"}})
def get_items(collectionId: str, request: Request, store: FeatureStoreDep,
              base: BaseDep, filters: FilterDep, paging: PageDep,
              f: Annotated[str, Depends(page_format)]) -> Response:
    """A page of features: filters `bbox`, `datetime` and the queryable properties (equality),
    paged by `limit` and `offset` with `next`/`prev` links and `numberMatched`."""
    info = store.collection(collectionId)
    properties = property_filters(request, info, ITEMS_PARAMETERS)
    page = store.query(info.id, feature_query(filters, properties, info, paging))
    path = f"/collections/{info.id}/items"
    current = list(request.query_params.multi_items())
    links = [
        _link(base, path, current, "self", encode.GEOJSON, "This page"),
        {"href": f"{base}/collections/{info.id}", "rel": "collection", "type": JSON,
         "title": info.title},
    ]
    returned = len(page.features)
    if paging.offset + returned < page.number_matched:
        links.append(_link(base, path, _with_offset(request, paging.offset + paging.limit),
                           "next", encode.GEOJSON, "Next page"))
    if paging.offset > 0:
        links.append(_link(base, path, _with_offset(request, max(0, paging.offset - paging.limit)),
                           "prev", encode.GEOJSON, "Previous page"))
    body = encode.feature_collection(page.features, number_matched=page.number_matched,
                                     timestamp=_timestamp(), links=links)
    return Response(body, media_type=encode.GEOJSON)


@router.get("/collections/{collectionId}/items/{featureId}", summary="One feature",
            response_class=Response,
            responses={200: {"content": {encode.GEOJSON: {"schema": {"type": "object"}}},
                             "description": "A GeoJSON Feature (RFC 7946)"}})
def get_item(collectionId: str, featureId: str, store: FeatureStoreDep,
             base: BaseDep, f: Annotated[str, Depends(page_format)]) -> Response:
    """One feature by id; 404 problem+json naming `featureId` when there is none."""
    info = store.collection(collectionId)
    batch = store.feature(info.id, featureId)
    href = f"{base}/collections/{info.id}"
    links = [
        {"href": f"{href}/items/{featureId}", "rel": "self", "type": encode.GEOJSON},
        {"href": href, "rel": "collection", "type": JSON, "title": info.title},
    ]
    return Response(encode.feature_document(batch, links), media_type=encode.GEOJSON)


def field_texts(request: Request) -> FieldTexts:
    """Titles and descriptions of properties for this run, from the layers the caller sees."""
    registry = region_services(request).registry
    manifest = registry.run_manifest() or {}
    return FieldTexts(visible_layers(registry, get_principal(request)),
                      list(manifest.get("config", {}).get("classes", [])))


def properties_schema(info: CollectionInfo, texts: FieldTexts) -> dict[str, Any]:
    """The JSON Schema of a collection's properties: type, title, description and units."""
    return {"type": "object", "properties": {
        name: texts.schema(name, KIND_SCHEMAS.get(kind, {}))
        for name, kind in info.kinds().items()}}


def field_docs(names: list[str], texts: FieldTexts) -> dict[str, encode.FieldDoc]:
    """What `gpkg_data_columns` says about each column: the English title, and a description
    with the units and the Spanish title and description."""
    docs: dict[str, encode.FieldDoc] = {}
    for name in names:
        text = texts.text(name)
        parts = [text.description.get("en", "")]
        if text.units:
            parts.append(f"Units: {text.units}.")
        parts.append(f"Español: {text.title['es']}." + (
            f" {text.description['es']}" if "es" in text.description else ""))
        docs[name] = encode.FieldDoc(text.title["en"], " ".join(p for p in parts if p))
    return docs


def _file_chunks(handle: BinaryIO, size: int = 1 << 16) -> Iterator[bytes]:
    """The bytes of an open file, then closed (also when the client goes away)."""
    try:
        while chunk := handle.read(size):
            yield chunk
    finally:
        handle.close()


def gpkg_file(batches: Iterable[FeatureBatch], info: CollectionInfo,
              texts: FieldTexts) -> BinaryIO:
    """The result written as a GeoPackage, open for reading; its file is already deleted, so
    nothing is left on disk whatever becomes of the response."""
    with tempfile.TemporaryDirectory(prefix="cmrisk-download-") as folder:
        path = Path(folder) / f"{info.id}.gpkg"
        geometry_type = "Unknown" if info.geometry_type == "Geometry" else info.geometry_type
        encode.write_gpkg(batches, path, layer=info.id, kinds=info.kinds(),
                          docs=field_docs(["id", *info.properties], texts),
                          description=f"{info.title}. {info.description}".strip(". ")[:1000],
                          geometry_type=geometry_type)
        return path.open("rb")  # the open file outlives its deleted name (POSIX)


@router.get("/collections/{collectionId}/download", summary="Download a filtered collection",
            response_class=Response,
            responses={200: {"content": {media: {} for media, _ in DOWNLOAD_FORMATS.values()},
                             "description": "The whole filtered result as a file"}})
@router.head("/collections/{collectionId}/download", include_in_schema=False)
def download(collectionId: str, request: Request, store: FeatureStoreDep,
             filters: FilterDep, f: Annotated[str, Depends(download_format)]) -> Response:
    """Every feature that matches `bbox`, `datetime` and the property filters, as GeoJSON or
    CSV (streamed) or GeoPackage 1.2.

    Every property has one type in all three formats (dates as dates, counts as integers,
    numbers rounded as published); GeoJSON carries a `schema` member and GeoPackage its
    `gpkg_data_columns` with each property's title, description and units; CSV text cells
    and headers are neutralised against formula injection. `HEAD` checks the request and
    answers the headers without writing the file."""
    info = store.collection(collectionId)
    properties = property_filters(request, info, DOWNLOAD_PARAMETERS)
    batches = store.batches(info.id, feature_query(filters, properties, info))
    media, suffix = DOWNLOAD_FORMATS[f]
    headers = {"Content-Disposition": f'attachment; filename="{info.id}.{suffix}"'}
    if request.method == "HEAD":
        return Response(media_type=media, headers=headers)
    columns = list(info.properties)
    texts = field_texts(request)
    if f == "geojson":
        stream = encode.geojson_stream(batches, name=info.id, timestamp=_timestamp(),
                                       schema=properties_schema(info, texts))
        return StreamingResponse(stream, media_type=media, headers=headers)
    if f == "csv":
        return StreamingResponse(encode.csv_stream(batches, columns), media_type=media,
                                 headers=headers)
    handle = gpkg_file(batches, info, texts)
    headers["Content-Length"] = str(os.fstat(handle.fileno()).st_size)
    return StreamingResponse(_file_chunks(handle), media_type=media, headers=headers)


def _collection_paths(store: FeatureStore, generic: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI path items `/collections/{id}/items` with each collection's property filters."""
    paths: dict[str, Any] = {}
    for info in store.collections():
        operation = copy.deepcopy(generic)
        operation["operationId"] = f"getItems_{info.id}"
        operation["summary"] = f"Features of {info.title}"
        operation["parameters"] = [p for p in operation.get("parameters", [])
                                   if p.get("name") != "collectionId"]
        operation["parameters"] += [
            {"name": q.name, "in": "query", "required": False, "schema": q.schema(),
             "description": f"Only features whose {q.name} equals this value."}
            for q in info.queryables if q.name not in ITEMS_PARAMETERS]
        paths[f"/collections/{info.id}/items"] = {"get": operation}
    return paths


def install(app: FastAPI) -> None:
    """Register the features routes and the per-collection filters in the OpenAPI document.

    Call after `app.openapi` is set: the document keeps the app's own, adding one items path
    per collection (recomputed when the collections change).
    """
    app.include_router(router)
    base_openapi = app.openapi
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        default = app.state.regions.get(app.state.regions.default)
        layers = default.registry.layers()
        store: FeatureStore = VisibleFeatureStore(  # the public document names no secrets
            default.features(), lambda cid: cid in layers and layers[cid].access == "public")
        try:
            infos = store.collections()
        except Exception:  # a broken run must not take the API description down
            infos = []
        key = tuple((i.id, i.version) for i in infos)
        if cache.get("key") != key:
            document = copy.deepcopy(base_openapi())
            generic = document.get("paths", {}).get(
                "/collections/{collectionId}/items", {}).get("get")
            if generic is not None and infos:
                document["paths"].update(_collection_paths(store, generic))
            cache.update(key=key, document=document)
        document_now: dict[str, Any] = cache["document"]
        return document_now

    app.openapi = openapi  # type: ignore[method-assign]
