"""What is real and what is synthetic in an input: the parts an input's provenance names.

A demo file (or any file ingested with a note) says which of its parts are made up
(`synthetic_parts`) and which are real (`real_parts`), by the codes below. The pipeline carries
them in each input's provenance record (`run.json` → `inputs`, every layer's `provenance`);
the map's banner and popups name exactly those parts, in the reader's language, rather than a
fixed sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from data_catalog.i18n import N_, Language

PARTS: Final[dict[str, str]] = {
    "hazard_rasters": N_("hazard and climate rasters"),
    "forest_cover": N_("forest cover"),
    "outlines": N_("protected-area and territory outlines"),
    "route_paths": N_("route paths between the waypoints"),
    "positions": N_("exact positions of places"),
    "station_capacities": N_("reception-station capacities"),
    "monthly_breakdown": N_("monthly crossings"),
    "demographic_breakdown": N_("crossings by point, sex, age group and nationality"),
    "displacement_events": N_("disaster displacement events"),
    "deaths": N_("deaths and disappearances"),
    "road_alignments": N_("road alignments"),
    "yearly_totals": N_("yearly crossing totals"),
    "places": N_("places"),
    "waypoints": N_("route waypoints"),
    "countries": N_("country borders (Natural Earth)"),
    "admin_outlines": N_("admin-unit outlines"),
    "admin_names": N_("admin-unit names and nesting"),
}
"""Code → what it names (English; the message translated)."""


def check_parts(codes: Iterable[str]) -> tuple[str, ...]:
    """The codes, checked against `PARTS` (ValueError naming an unknown one)."""
    codes = tuple(codes)
    unknown = [c for c in codes if c not in PARTS]
    if unknown:
        raise ValueError(f"unknown provenance part(s) {unknown}; known: {', '.join(PARTS)}")
    return codes


def part_labels(codes: Iterable[str], lang: Language) -> list[str]:
    """The parts in `lang`, in order, each once (an unknown code as itself)."""
    seen: list[str] = []
    for code in codes:
        label = lang.gettext(PARTS[code]) if code in PARTS else str(code)
        if label not in seen:
            seen.append(label)
    return seen


def synthetic_parts(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """The synthetic parts of provenance records (`run.json` → `inputs`), in order, each once;
    a synthetic record that names no part is named by its input name."""
    parts: list[str] = []
    for record in records:
        if not record.get("synthetic"):
            continue
        named = list(record.get("synthetic_parts") or []) or [str(record.get("name"))]
        parts += [p for p in named if p not in parts]
    return parts


def real_parts(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """The real parts the records name, in order, each once."""
    parts: list[str] = []
    for record in records:
        parts += [p for p in record.get("real_parts") or [] if p not in parts]
    return parts


BANNER = N_("Demonstration data. Synthetic: {parts}.")
REAL = N_("Real: {parts}.")
NOTE = N_("synthetic: {parts}")
REAL_NOTE = N_("real: {parts}")


def synthetic_banner(records: Iterable[Mapping[str, Any]], lang: Language) -> str:
    """"Demonstration data. Synthetic: … Real: …" in `lang`: exactly the parts the records
    (`run.json` → `inputs`, or layers' provenance) name; empty when nothing is synthetic."""
    records = list(records)
    made_up = synthetic_parts(records)
    if not made_up:
        return ""
    text = lang.gettext(BANNER).format(parts=", ".join(part_labels(made_up, lang)))
    real = [p for p in real_parts(records) if p not in made_up]
    if real:
        text += " " + lang.gettext(REAL).format(parts=", ".join(part_labels(real, lang)))
    return text


def record_note(record: Mapping[str, Any] | None, lang: Language) -> str:
    """What one input's popups say ("synthetic: deaths and disappearances; real: …"); empty
    for a real input."""
    if record is None or not record.get("synthetic"):
        return ""
    note = lang.gettext(NOTE).format(parts=", ".join(part_labels(synthetic_parts([record]),
                                                                  lang)))
    real = real_parts([record])
    if real:
        note += "; " + lang.gettext(REAL_NOTE).format(parts=", ".join(part_labels(real, lang)))
    return note
