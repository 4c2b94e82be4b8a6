"""The landing page (`/`: HTML for browsers, JSON for API clients) and `/healthz`."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from data_catalog.i18n import N_
from data_catalog.provenance import synthetic_banner
from geo_service.auth import PrincipalDep
from geo_service.deps import BaseUrlDep, LanguageDep, RegistryDep, ServiceUrlDep
from geo_service.guards import page_csp
from geo_service.static_assets import static_url

router = APIRouter(tags=["service"])

HEADING = N_("cmrisk — climate-mobility risk")
OPEN_MAP = N_("Open the planning map")
OTHER_REGIONS = N_("Other regions")
RUN = N_("Run")
TITLES = {
    "service-desc": N_("OpenAPI definition"), "service-doc": N_("API documentation"),
    "conformance": N_("Conformance classes"), "data": N_("Feature collections"),
    "http://cmrisk.org/rel/layers": N_("Map layers"),
    "http://cmrisk.org/rel/areas": N_("Scored areas"),
    "http://cmrisk.org/rel/map": N_("Planning map"),
    "http://cmrisk.org/rel/regions": N_("Regions served"),
    "http://cmrisk.org/rel/redoc": N_("API reference (ReDoc)"),
}
"""The landing page's link titles, translated on the HTML page (JSON keeps English)."""


def landing_links(base: str, service: str | None = None) -> list[dict[str, str]]:
    """The landing page's links (OGC API - Common): `base` is the region's URL, `service` the
    service's (where the API description and the list of regions are)."""
    service = service or base
    return [
        {"href": f"{base}/", "rel": "self", "type": "application/json", "title": "This document"},
        {"href": f"{service}/api", "rel": "service-desc",
         "type": "application/vnd.oai.openapi+json;version=3.1", "title": "OpenAPI definition"},
        {"href": f"{service}/docs", "rel": "service-doc", "type": "text/html",
         "title": "API documentation"},
        {"href": f"{service}/redoc", "rel": "http://cmrisk.org/rel/redoc", "type": "text/html",
         "title": "API reference (ReDoc)"},
        {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json",
         "title": "Conformance classes"},
        {"href": f"{base}/collections", "rel": "data", "type": "application/json",
         "title": "Feature collections"},
        {"href": f"{base}/layers", "rel": "http://cmrisk.org/rel/layers",
         "type": "application/json", "title": "Map layers"},
        {"href": f"{base}/areas", "rel": "http://cmrisk.org/rel/areas",
         "type": "application/json", "title": "Scored areas"},
        {"href": f"{base}/maps/risk", "rel": "http://cmrisk.org/rel/map", "type": "text/html",
         "title": "Planning map"},
        {"href": f"{service}/regions", "rel": "http://cmrisk.org/rel/regions",
         "type": "application/json", "title": "Regions served"},
    ]


def _wants_html(request: Request) -> bool:
    if request.query_params.get("f") == "html":
        return True
    if request.query_params.get("f") == "json":
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept


@router.get("/", summary="Landing page", response_model=None)
def landing(request: Request, registry: RegistryDep, base: BaseUrlDep,
            service: ServiceUrlDep, lang: LanguageDep) -> Response:
    """Links to the API, its documentation, the region's layers, areas and planning map, and
    the other regions. A browser gets an HTML page in the language its `Accept-Language`
    asks for (or `lang`)."""
    manifest = registry.run_manifest() or {}
    titles = manifest.get("config", {}).get("title") or {}
    region = titles.get("en") or registry.region
    body: dict[str, Any] = {
        "title": "cmrisk — climate-mobility risk",
        "description": f"INFORM-style climate-mobility risk of the region {region}: map tiles, "
                       "OGC API - Features and planning maps.",
        "region": registry.region,
        "run_id": manifest.get("run_id"),
        "synthetic": manifest.get("synthetic"),
        "links": landing_links(base, service),
    }
    if not _wants_html(request):
        return JSONResponse(body)
    _ = lang.gettext
    titles_of = {link["rel"]: _(TITLES.get(link["rel"], link["title"])) for link in body["links"]}
    rows = "".join(f'<li><a href="{escape(link["href"])}">{escape(titles_of[link["rel"]])}</a>'
                   "</li>" for link in body["links"][1:])
    named = synthetic_banner(manifest.get("inputs") or [], lang) if manifest.get("synthetic") \
        else ""
    banner = f"<p class='synthetic'>{escape(named)}</p>" if named else ""
    others = [r for r in request.app.state.regions.served() if r != registry.region]
    default = request.app.state.regions.default
    regions = "".join(
        f'<li><a href="{escape(service)}{"" if r == default else f"/regions/{r}"}/">'
        f"{escape(r)}</a></li>" for r in others)
    if regions:
        rows += f"<li>{escape(_(OTHER_REGIONS))}<ul>{regions}</ul></li>"
    query = f"?lang={quote(lang.code)}"
    html = f"""<!doctype html><html lang="{escape(lang.tag)}"><head><meta charset="utf-8">
<title>cmrisk · {escape(lang.text(titles, registry.region))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>{escape(_(HEADING))}</h1><p>{escape(lang.text(titles, registry.region))}</p>{banner}
<p><a href="{escape(base)}/maps/risk{query}"><strong>{escape(_(OPEN_MAP))}</strong></a></p>
<ul>{rows}</ul><p>{escape(_(RUN))}: {escape(str(manifest.get("run_id", "–")))}</p></body></html>"""
    return HTMLResponse(html, headers={"Content-Language": lang.tag, "Vary": "Accept-Language"})


@router.get("/healthz", summary="Liveness and readiness")
def healthz(registry: RegistryDep, principal: PrincipalDep) -> dict[str, Any]:
    """`ok` (or `no-data` before the first run) with the current run id; a caller with a
    token also gets the number of layers it may see (anonymous callers get no counts)."""
    layers = registry.layers()
    manifest = registry.run_manifest() or {}
    body: dict[str, Any] = {"status": "ok" if layers else "no-data",
                            "run_id": manifest.get("run_id")}
    if principal.scopes:
        body["layers"] = sum(principal.can_read(layer) for layer in layers.values())
    return body


@router.get("/docs", include_in_schema=False)
def api_docs(base: BaseUrlDep) -> HTMLResponse:
    """The interactive API documentation (Swagger UI, served from this service)."""
    page = get_swagger_ui_html(
        openapi_url=f"{base}/api", title="cmrisk API",
        swagger_js_url=static_url(base, "swagger-ui", "swagger-ui-bundle.js"),
        swagger_css_url=static_url(base, "swagger-ui", "swagger-ui.css"),
        swagger_favicon_url=static_url(base, "swagger-ui", "favicon-32x32.png"))
    html = bytes(page.body).decode("utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": page_csp(html)})


@router.get("/redoc", include_in_schema=False)
def api_reference(base: BaseUrlDep) -> HTMLResponse:
    """The API reference (ReDoc, served from this service: no CDN, no font download)."""
    page = get_redoc_html(openapi_url=f"{base}/api", title="cmrisk API",
                          redoc_js_url=static_url(base, "redoc", "redoc.standalone.js"),
                          redoc_favicon_url="data:,", with_google_fonts=False)
    html = bytes(page.body).decode("utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": page_csp(html,
                                                                           workers=("blob:",))})
