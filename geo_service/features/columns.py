"""Typed property columns held in memory: JSON-ready values, equality filters, sorted indexes.

A column answers `lookup(key)` (the rows equal to a value, ascending) from a sorted index built
on first use, so a filter costs O(log n + matches) rather than a scan of the collection.

Values are held as they are published (`layers/fields.yaml`): numbers rounded to the
property's decimals (so a value read from a page filters equal to itself), and text or
timestamps declared as dates or date-times converted to them, so every format writes one
type per property.
"""

from __future__ import annotations

import math
import threading
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from geo_service.features.errors import InvalidQuery
from geo_service.features.model import Queryable, QueryableType
from layers.fields import field_spec

_TRUE, _FALSE = {"true", "1"}, {"false", "0"}


def jsonable(value: Any) -> Any:
    """A Python value that `json.dumps` writes (numpy scalars, arrays, dates, NaN -> None)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, np.ndarray | list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def _published(values: pd.Series, declared: str | None) -> pd.Series:
    """Text or timestamps declared as `date`/`datetime` in fields.yaml, as UTC timestamps
    (values that do not parse become missing)."""
    if declared is None:
        return values
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.to_datetime(values, utc=True)
    if pd.api.types.is_string_dtype(values.dtype) or pd.api.types.is_object_dtype(values.dtype):
        return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    return values


class Column:
    """One property of a collection, by kind: string (categorical codes), integer, number
    (rounded to its published decimals), boolean, datetime (UTC, ms), date, or other (served
    as is, not queryable)."""

    def __init__(self, name: str, series: pd.Series) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._order: np.ndarray | None = None
        self._sorted: np.ndarray | None = None
        self._codes_of: dict[str, int] | None = None
        spec, _ = field_spec(name)
        values = _published(series.reset_index(drop=True), spec.type)
        dtype = values.dtype
        self.valid = ~values.isna().to_numpy()
        is_object = pd.api.types.is_object_dtype(dtype)
        if isinstance(dtype, pd.CategoricalDtype) \
                or (pd.api.types.is_string_dtype(dtype) and not is_object) \
                or (is_object and _all_str(values)):
            categorical = pd.Categorical(values.astype("object").where(self.valid, None))
            self.kind = "string"
            self.values = categorical.codes.astype("int64")
            self.categories = np.asarray([*categorical.categories, None], dtype=object)
        elif pd.api.types.is_bool_dtype(dtype) \
                or (pd.api.types.is_object_dtype(dtype) and _all_bool(values)):
            self.kind = "boolean"
            self.values = values.where(self.valid, False).astype(bool).to_numpy()
        elif pd.api.types.is_integer_dtype(dtype):
            self.kind = "integer"
            self.values = values.where(self.valid, 0).astype("int64").to_numpy()
        elif pd.api.types.is_float_dtype(dtype):
            self.kind = "number"
            self.values = np.round(values.astype("float64").to_numpy(), spec.decimals)
            self.valid &= np.isfinite(self.values)
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            self.kind = "date" if spec.type == "date" else "datetime"
            stamps = pd.to_datetime(values, utc=True)
            self.valid = ~stamps.isna().to_numpy()
            unit = "datetime64[D]" if self.kind == "date" else "datetime64[ms]"
            self.values = stamps.dt.tz_localize(None).to_numpy().astype(unit)
        else:
            self.kind = "other"
            self.values = values.to_numpy(dtype=object)

    @property
    def queryable(self) -> Queryable | None:
        """The column as a queryable, or None for datetime and other columns."""
        if self.kind in ("string", "integer", "number", "boolean"):
            kind: QueryableType = self.kind  # type: ignore[assignment]
            return Queryable(self.name, kind)
        return None

    def take(self, rows: np.ndarray) -> list[Any]:
        """JSON-ready values at `rows` (None where missing)."""
        if self.kind == "string":
            return self.categories[self.values[rows]].tolist()
        if self.kind == "other":
            return [jsonable(v) for v in self.values[rows]]
        valid = self.valid[rows]
        if self.kind == "datetime":
            text = np.datetime_as_string(self.values[rows], unit="ms") + "Z"
            out = text.astype(object)
        elif self.kind == "date":
            out = np.datetime_as_string(self.values[rows], unit="D").astype(object)
        else:
            out = self.values[rows].astype(object)
        if not valid.all():
            out[~valid] = None
        return out.tolist()

    def parse(self, text: str) -> Any:
        """The value an equality filter means, in the column's key space (None: matches nothing).

        Raises:
            InvalidQuery: text that is not a value of the column's type (names the column).
        """
        value = parse_value(self.kind, self.name, text)
        if self.kind == "string":
            if self._codes_of is None:
                self._codes_of = {str(c): i for i, c in enumerate(self.categories[:-1])}
            return self._codes_of.get(value)
        return value

    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._order is None or self._sorted is None:
                keys = self._keys()
                self._order = np.argsort(keys, kind="stable")
                self._sorted = keys[self._order]
            return self._order, self._sorted

    def _keys(self) -> np.ndarray:
        if self.kind == "string":
            return self.values
        if self.kind == "boolean":
            return np.where(self.valid, self.values.astype("int64"), -1)
        if self.kind == "number":
            return np.where(self.valid, self.values, np.nan)
        return self.values

    def lookup(self, key: Any) -> np.ndarray:
        """Rows whose value equals `key` (from `parse`), ascending."""
        if key is None:
            return np.empty(0, dtype="int64")
        order, ordered = self._index()
        probe = int(key) if self.kind == "boolean" else key
        low = np.searchsorted(ordered, probe, side="left")
        high = np.searchsorted(ordered, probe, side="right")
        rows = order[low:high]
        if self.kind == "integer":
            rows = rows[self.valid[rows]]
        return rows.astype("int64", copy=False)

    def matches(self, key: Any, rows: np.ndarray) -> np.ndarray:
        """Which of `rows` have a value equal to `key` (bool mask)."""
        if key is None:
            return np.zeros(len(rows), dtype=bool)
        return (self.values[rows] == key) & self.valid[rows]


def parse_value(kind: str, name: str, text: str) -> Any:
    """The value an equality filter on a column of `kind` means: the text itself for strings,
    an int, a finite float or a bool; every feature store parses filters with this.

    Raises:
        InvalidQuery: text that is not a value of the kind, or a kind that takes no filters
            (names the column).
    """
    try:
        if kind == "string":
            return text
        if kind == "integer":
            return int(text)
        if kind == "number":
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(text)
            return number
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError(text)
            return lowered in _TRUE
    except ValueError:
        raise InvalidQuery(f"{name} takes {kind} values", parameter=name) from None
    raise InvalidQuery(f"{name} is not a queryable property", parameter=name)


def _all_str(values: pd.Series) -> bool:
    present = values.dropna()
    return bool(len(present)) and all(isinstance(v, str) for v in present.iloc[:1000]) \
        and bool(present.map(type).eq(str).all())


def _all_bool(values: pd.Series) -> bool:
    present = values.dropna()
    return bool(len(present)) and bool(present.map(type).isin([bool, np.bool_]).all())
