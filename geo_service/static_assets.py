"""Offline web assets: the JS/CSS the planning map and the API docs need, served by the
service itself.

The files come from packages installed from PyPI with cmrisk (XStatic packages,
swagger-ui-bundle for `/docs`, fastapi-offline's ReDoc for `/redoc`; nothing else is vendored
in the repository), and from the map's own package files (`geo_service/maps/static/`).
`localize` rewrites the CDN URLs that Folium elements declare (`default_js`, `default_css`)
into `/static/{package}/{file}` URLs of this service, and drops assets the map does not use;
an asset it does not know raises `UnknownAsset`, so a new plugin cannot silently bring a CDN
back.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

from branca.element import Element

PACKAGES: dict[str, tuple[str, str]] = {
    "leaflet": ("xstatic.pkg.leaflet", "BASE_DIR"),
    "jquery": ("xstatic.pkg.jquery", "BASE_DIR"),
    "leaflet_markercluster": ("xstatic.pkg.leaflet_markercluster", "BASE_DIR"),
    "swagger-ui": ("swagger_ui_bundle", "swagger_ui_path"),
    "redoc": ("fastapi_offline", "__file__"),
    "cmrisk": ("geo_service.maps.assets", "STATIC_DIR"),
}
"""Static package name (first segment of `/static/...`) → (module, attribute naming its
folder of files)."""

FOLIUM_ASSETS: dict[str, tuple[str, str] | None] = {
    # folium.Map
    "leaflet": ("leaflet", "leaflet.js"),
    "jquery": ("jquery", "jquery.min.js"),
    "bootstrap": None,
    "awesome_markers": None,
    "leaflet_css": ("leaflet", "leaflet.css"),
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
    # folium.plugins.MarkerCluster
    "markerclusterjs": ("leaflet_markercluster", "leaflet.markercluster.js"),
    "markerclustercss": ("leaflet_markercluster", "MarkerCluster.css"),
    "markerclusterdefaultcss": ("leaflet_markercluster", "MarkerCluster.Default.css"),
    # geo_service.maps.widgets.MapAssets: the map's own code
    "cmrisk_map_js": ("cmrisk", "cmrisk-map.js"),
    "cmrisk_map_css": ("cmrisk", "cmrisk-map.css"),
}
"""Folium asset name → (static package, file), or None for assets the map does not need
(Bootstrap and the awesome-markers icons: the planning map draws no icon markers)."""

OFFLINE_PATCHES: dict[tuple[str, str], tuple[tuple[bytes, bytes], ...]] = {
    # ReDoc's sidebar shows Redocly's logo from their CDN: a request to another host on every
    # page view (and a CSP violation). An empty image in its place keeps /redoc offline.
    ("redoc", "redoc.standalone.js"): (
        (b"https://cdn.redoc.ly/redoc/logo-mini.svg",
         b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"),),
}
"""Assets served with a few bytes replaced so that they name no other host: (package, file)
→ (old, new) pairs. Each old text must be found, or serving the asset fails loudly."""

MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png",
               ".map": "application/json", ".woff2": "font/woff2", ".ttf": "font/ttf",
               ".svg": "image/svg+xml"}


class UnknownAsset(LookupError):
    """A Folium element declares a JS/CSS asset with no offline copy."""


@cache
def package_dir(package: str) -> Path | None:
    """The data folder of a static package, or None when the name is not one of ours."""
    found = PACKAGES.get(package)
    if found is None:
        return None
    module, attribute = found
    folder = Path(getattr(importlib.import_module(module), attribute)).resolve()
    # A package that ships its files beside its code (fastapi-offline): its static/ folder.
    return folder.parent / "static" if folder.is_file() else folder


def asset_file(package: str, path: str) -> Path | None:
    """The file `/static/{package}/{path}` serves, or None (unknown package, missing file,
    or a path that leaves the package folder)."""
    root = package_dir(package)
    if root is None:
        return None
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


@cache
def patched_asset(package: str, path: str) -> bytes | None:
    """The bytes of an asset that is served patched (`OFFLINE_PATCHES`), or None.

    Raises:
        UnknownAsset: a patch no longer finds its text (a new version of the package).
    """
    patches = OFFLINE_PATCHES.get((package, path))
    found = asset_file(package, path) if patches else None
    if patches is None or found is None:
        return None
    body = found.read_bytes()
    for old, new in patches:
        if old not in body:
            raise UnknownAsset(f"{package}/{path} no longer holds {old!r}: check the patch")
        body = body.replace(old, new)
    return body


def media_type(path: Path) -> str:
    """The Content-Type of a static file."""
    return MEDIA_TYPES.get(path.suffix, "application/octet-stream")


def static_url(base_url: str, package: str, file: str) -> str:
    """The URL of a static file of this service."""
    return f"{base_url}/static/{package}/{file}"


def _rewrite(assets: list[tuple[str, str]], base_url: str) -> list[tuple[str, str]]:
    rewritten: list[tuple[str, str]] = []
    for name, url in assets:
        if name not in FOLIUM_ASSETS:
            raise UnknownAsset(f"no offline copy of asset {name!r} ({url})")
        target = FOLIUM_ASSETS[name]
        if target is not None:
            rewritten.append((name, static_url(base_url, *target)))
    return rewritten


def localize(root: Element, base_url: str) -> None:
    """Point every Folium JS/CSS asset under `root` at this service (in place).

    Args:
        root: a Folium map (or any element); its descendants are rewritten too.
        base_url: the service's URL, without a trailing slash.

    Raises:
        UnknownAsset: an element declares an asset with no offline copy.
    """
    stack: list[Element] = [root]
    while stack:
        element = stack.pop()
        for attribute in ("default_js", "default_css"):
            assets = getattr(element, attribute, None)
            if assets:
                setattr(element, attribute, _rewrite(list(assets), base_url))
        stack.extend(element._children.values())
