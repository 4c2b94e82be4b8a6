"""The Observatory exchange over HTTP: the template, country submissions, versions, currency.

```
GET  /exchange/template?kind=&lang=&f=html|csv|json   the fields explained (en/es/pt), the CSV
                                                       template, the Frictionless Table Schema
POST /exchange/submissions?kind=crossings|displacement a CSV or JSON file, with a country token
GET  /exchange/submissions                             the token's country's submissions
GET  /exchange/submissions/{id}                        one submission (superseded ones too)
POST /exchange/withdrawals                             {"kind", "months"}: withdraw months
GET  /exchange/status                                  currency per country (public)
```

A submission is checked whole (`data_catalog.exchange.validate`) and refused whole with a
422 problem listing every bad field by line (`errors`), or stored as the next version
(201). A country token (`cmrisk tokens issue --country PAN --scope submit`) submits and reads
its own country only: rows for another country are a 403 naming `country`; another country's
submission is a 404, as if it did not exist. No token, an unknown, expired or revoked one:
401.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from data_catalog.errors import CatalogError
from data_catalog.exchange import formats
from data_catalog.exchange import store as exchange
from data_catalog.exchange.rules import load_config
from data_catalog.exchange.validate import ForeignCountry
from data_catalog.i18n import N_, Language
from data_catalog.ingest.install import LayerPublisher, staging
from data_catalog.ingest.refusal import IngestRefused, problems
from data_catalog.ingest.versions import VersionStore, version_store
from data_catalog.paths import DataDir
from data_catalog.problems import InvalidParameter, NotFound, Problem
from geo_service.auth import Principal, get_principal
from geo_service.deps import LanguageDep
from geo_service.errors import problem
from geo_service.routers.analysis import read_body

router = APIRouter(prefix="/exchange", tags=["exchange"])


MAX_SUBMISSION_BYTES = 32 * 1024 * 1024
"""Largest submission body, bytes (413 past it)."""


class Unauthorised(Problem):
    """No valid country token (missing, unknown, expired or revoked)."""

    status = 401
    title = "Unauthorised"
    default_parameter = "Authorization"


class Forbidden(Problem):
    """A token that may not do this (rows for another country)."""

    status = 403
    title = "Forbidden"


def _data(request: Request) -> DataDir:
    return DataDir(Path(request.app.state.settings.data_dir))


def _store(request: Request) -> VersionStore:
    return version_store(_data(request))


def _country(principal: Principal) -> str:
    if principal.country is None or not principal.can_submit(principal.country):
        raise Unauthorised("a valid country token with the submit scope is required "
                           "(Authorization: Bearer <token>); this one is missing, unknown, "
                           "expired or revoked")
    return principal.country


def _publisher(request: Request) -> LayerPublisher | None:
    """The PostGIS load of a user layer, when the service runs on PostGIS."""
    url = request.app.state.settings.database_url
    if not url:
        return None

    def publish(layer_id: str, folder: Path | None) -> None:
        from geo_service.features.postgis_load import publish_user_layer

        publish_user_layer(url, layer_id, folder)

    return publish


def _kind(kind: str) -> str:
    if kind not in formats.KINDS:
        raise InvalidParameter(f"kind must be one of {', '.join(formats.KINDS)}",
                               parameter="kind")
    return kind


KindQuery = Annotated[str, Query(description="crossings or displacement")]


@router.get("/template", summary="The submission template, explained",
            response_class=Response)
def template(request: Request, lang: LanguageDep, kind: KindQuery = formats.DEFAULT_KIND,
             f: Annotated[str, Query(description="html (the page), csv (the template) or "
                                     "json (the Frictionless Table Schema)")] = "html",
             ) -> Response:
    """The fields of a submission in the reader's language, the CSV template and the
    machine-readable schema (Frictionless Table Schema)."""
    kind = _kind(kind)
    config = load_config()
    if f == "csv":
        return Response(formats.template_csv(kind), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="cmrisk-{kind}-template.csv"'})
    if f == "json":
        return JSONResponse(formats.table_schema(kind, lang, max_count=config.max_count))
    if f != "html":
        raise InvalidParameter("f must be html, csv or json", parameter="f")
    return HTMLResponse(template_page(kind, lang, config.max_count, config.deadline_days))


def template_page(kind: str, lang: Language, max_count: int, deadline_days: int) -> str:
    """The HTML page explaining each field of a kind."""
    _ = lang.gettext
    title = _(formats.KIND_TITLES[kind])
    rows = "".join(
        f"<tr><td><code>{html.escape(f.name)}</code></td><td>{html.escape(_(f.title))}</td>"
        f"<td>{html.escape(_(f.description))}</td>"
        f"<td><code>{html.escape(f.example)}</code></td></tr>"
        for f in formats.fields(kind))
    intro = _(N_("One row per count of persons. Send the file as CSV (UTF-8) or JSON to POST "
                 "/exchange/submissions with your country's token. The whole file is checked "
                 "first: if any row is wrong, nothing is stored and every problem is listed "
                 "by line."))
    deadline = _(N_("Each month is due {days} days after it ends; the largest count in one "
                    "row is {max}.")).format(days=deadline_days, max=lang.integer(max_count))
    links = " · ".join(
        f'<a href="?kind={kind}&amp;f={fmt}&amp;lang={lang.code}">{html.escape(label)}</a>'
        for fmt, label in (("csv", _(N_("CSV template"))), ("json", _(N_("Table Schema")))))
    heads = "".join(f"<th>{html.escape(_(h))}</th>" for h in (
        N_("Column"), N_("Title"), N_("What to write"), N_("Example")))
    return (f'<!doctype html><html lang="{lang.tag}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(intro)}</p><p>{html.escape(deadline)}</p><p>{links}</p>"
            f"<table><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>"
            "</body></html>")


def _refused(error: IngestRefused, instance: str) -> JSONResponse:
    report = error.report
    detail = (f"refused, nothing was stored: {report.rows_rejected} of {report.rows_read} "
              f"{report.unit}s are bad; fix every one listed in `errors` and submit the "
              "whole file again")
    return problem(422, "Submission refused", detail, parameter="body",
                   instance=instance, extra={
                       "positions": report.positions, "rows_read": report.rows_read,
                       "rows_rejected": report.rows_rejected, "problems": problems(report),
                       "errors": [e.to_dict() for e in report.rejected()]})


SUBMISSION_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"},
                 "example": formats.template_csv(formats.DEFAULT_KIND)},
    "application/json": {"schema": {"oneOf": [
        {"type": "array", "items": {"type": "object"}},
        {"type": "object", "properties": {"rows": {"type": "array",
                                                   "items": {"type": "object"}}}}]}}}}}
"""The body of a submission in the OpenAPI document (read raw, checked whole)."""


@router.post("/submissions", summary="Submit a country's monthly counts", status_code=201,
             response_model=None, openapi_extra=SUBMISSION_BODY)
async def submit(request: Request, kind: KindQuery = formats.DEFAULT_KIND) -> JSONResponse:
    """Validate a CSV or JSON file whole, then store it as the country's next version
    (201 with its id, who, when and checksum), or refuse it whole (422 with every bad field
    by line)."""
    country = _country(get_principal(request))
    kind = _kind(kind)
    body = await read_body(request, MAX_SUBMISSION_BYTES)
    if not body.strip():
        raise InvalidParameter("the body is empty: send the CSV or JSON file", parameter="body")
    media = request.headers.get("content-type", "")
    suffix = ".json" if "json" in media else ".csv"
    name = request.headers.get("x-file-name", f"submission{suffix}")[:100]
    principal = get_principal(request)

    def work() -> exchange.Outcome:
        data = _data(request)
        with staging(data, f"submission-{country}") as folder:
            path = folder / f"submission{suffix}"
            path.write_bytes(body)
            return exchange.submit(data, _store(request), path, kind=kind, country=country,
                                   user=f"token:{principal.name}", file_name=name,
                                   publish=_publisher(request))

    try:
        outcome = await run_in_threadpool(work)
    except IngestRefused as error:
        return _refused(error, request.url.path)
    except ForeignCountry as error:
        raise Forbidden(f"this token submits for {country} only; the file has {error}",
                        parameter="country") from None
    except CatalogError as error:
        raise InvalidParameter(str(error).splitlines()[0][:300], parameter="body") from None
    record = exchange.read_submission(_store(request), outcome.id)
    record.pop("rows")
    return JSONResponse(record | {"links": _links(request, outcome.id)}, status_code=201,
                        headers={"Location": f"/exchange/submissions/{outcome.id}"})


def _links(request: Request, submission: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"/exchange/submissions/{submission}",
             "type": "application/json"},
            {"rel": "status", "href": "/exchange/status", "type": "application/json"}]


@router.get("/submissions", summary="The token's country's submissions")
def list_submissions(request: Request, kind: KindQuery = formats.DEFAULT_KIND) -> dict[str, Any]:
    """Every submission and withdrawal of the token's country, oldest first, with the status
    of each month."""
    country = _country(get_principal(request))
    return {"country": country, "kind": _kind(kind),
            "submissions": exchange.history(_store(request), country, kind)}


@router.get("/submissions/{submission}", summary="One submission")
def get_submission(submission: str, request: Request) -> dict[str, Any]:
    """A submission's record, month statuses and rows (also when superseded or withdrawn);
    only the token of its country sees it (404 otherwise)."""
    principal = get_principal(request)
    try:
        country, _, _ = exchange.parse_id(submission)
        if not principal.can_submit(country):
            raise exchange.UnknownSubmission(submission)
        return exchange.read_submission(_store(request), submission) | {
            "links": _links(request, submission)}
    except exchange.UnknownSubmission:
        raise NotFound(f"no submission {submission[:60]!r}",
                       parameter="submission") from None


class Withdrawal(BaseModel):
    """Months a country withdraws."""

    model_config = ConfigDict(extra="forbid")

    kind: str = formats.DEFAULT_KIND
    months: list[str] = Field(min_length=1, max_length=120)


@router.post("/withdrawals", summary="Withdraw months", status_code=201)
def withdraw(body: Withdrawal, request: Request) -> dict[str, Any]:
    """Withdraw months the token's country submitted by mistake: they leave the published
    series; the submissions stay readable, marked withdrawn."""
    principal = get_principal(request)
    country = _country(principal)
    try:
        outcome = exchange.withdraw(_data(request), _store(request), kind=_kind(body.kind),
                                    country=country, months=body.months,
                                    user=f"token:{principal.name}", publish=_publisher(request))
    except exchange.UnknownSubmission as error:
        raise InvalidParameter(str(error), parameter="months") from None
    return exchange.read_submission(_store(request), outcome.id) | {
        "links": _links(request, outcome.id)}


@router.get("/status", summary="Currency of each country's data")
def status(request: Request) -> dict[str, Any]:
    """Per country and kind: the last month covered, when it was submitted, its timeliness
    against the reporting deadline, and whether the data are stale."""
    config = load_config()
    return dict(deadline_days=config.deadline_days, stale_after_days=config.stale_after_days,
                countries=exchange.status(_store(request), config))


def crossings_currency(data_dir: Path) -> list[dict[str, Any]]:
    """Currency of each country's submitted crossings (`/exchange/status` entries), for the
    layers they feed (`/layers`)."""
    return exchange.crossings_currency(DataDir(data_dir))
