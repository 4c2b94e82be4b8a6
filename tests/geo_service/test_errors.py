"""One error hierarchy: every named error of every package carries its status, goes through one
handler and comes out in one problem+json shape; problems survive a process boundary."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from data_catalog.problems import (
    InvalidParameter,
    NotFound,
    PayloadTooLarge,
    Problem,
    RequestTimeout,
    Unavailable,
    Unprocessable,
)
from geo_service.app import create_app
from geo_service.errors import HANDLED, NoData, TileOutsideMatrix, WorkTimeout, problem_response
from geo_service.features.errors import (
    AreaRejected,
    CollectionNotFound,
    FeatureNotFound,
    InvalidQuery,
)
from geo_service.settings import Settings
from layers.registry import LayerNotFound

NAMED: list[tuple[Problem, int, str | None]] = [
    (LayerNotFound("nope"), 404, "layer"),
    (CollectionNotFound("nope"), 404, "collectionId"),
    (FeatureNotFound("c", "f"), 404, "featureId"),
    (InvalidQuery("bad bbox", parameter="bbox"), 400, "bbox"),
    (AreaRejected("too big", parameter="geometry"), 422, "geometry"),
    (TileOutsideMatrix("out", parameter="z"), 404, "z"),
    (NoData("no run"), 503, None),
    (WorkTimeout("slow"), 503, None),
    (InvalidParameter("x", parameter="f"), 400, "f"),
    (NotFound("x"), 404, None),
    (RequestTimeout("x", parameter="body"), 408, "body"),
    (PayloadTooLarge("x", parameter="body"), 413, "body"),
    (Unprocessable("x"), 422, None),
    (Unavailable("x"), 503, None),
]


def test_one_handler_is_registered_for_everything(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    handlers = {cls: h for cls, h in app.exception_handlers.items() if cls in HANDLED}
    assert set(handlers) == set(HANDLED)
    assert set(handlers.values()) == {problem_response}
    # Nothing else answers HTTP requests (FastAPI keeps its own for websockets, unused here).
    others = {cls.__name__ for cls in set(app.exception_handlers) - set(HANDLED)}
    assert others <= {"WebSocketRequestValidationError"}


@pytest.mark.parametrize(("error", "status", "parameter"), NAMED,
                         ids=[type(e).__name__ for e, _, _ in NAMED])
def test_each_named_error_is_its_status_in_one_shape(error: Problem, status: int,
                                                     parameter: str | None) -> None:
    app = FastAPI()
    for cls in HANDLED:
        app.add_exception_handler(cls, problem_response)

    @app.get("/x")
    def raise_it() -> None:
        raise error

    response = TestClient(app, raise_server_exceptions=False).get("/x")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["status"] == status and body["detail"] == error.detail
    assert body.get("parameter") == parameter
    assert (response.headers.get("retry-after") is not None) == (status == 503)


@pytest.mark.parametrize("error", [e for e, _, _ in NAMED],
                         ids=[type(e).__name__ for e, _, _ in NAMED])
def test_problems_pickle_across_processes(error: Problem) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.status, copy.title, copy.detail, copy.parameter) == (
        error.status, error.title, error.detail, error.parameter)


def test_a_bare_problem_is_an_internal_error_that_reveals_nothing() -> None:
    app = FastAPI()
    for cls in HANDLED:
        app.add_exception_handler(cls, problem_response)

    @app.get("/x")
    def raise_it() -> None:
        raise Problem("cannot open /srv/data/runs/x/risk.tif")

    response = TestClient(app, raise_server_exceptions=False).get("/x")
    assert response.status_code == 500
    assert "/srv/data" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]
