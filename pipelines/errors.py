"""The pipeline's named errors: each says what is wrong and what to do about it."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error a pipeline run reports to its user."""


class UnknownRegion(PipelineError):
    """A region id with no config file in `pipelines/regions/`."""

    def __init__(self, region: str, known: list[str]) -> None:
        self.region = region
        self.known = known
        super().__init__(f"unknown region {region!r}; known regions: {', '.join(known)}")


class ConfigError(PipelineError):
    """A region config that does not describe a valid run."""


class MissingInput(PipelineError):
    """An input named by the region config is absent from the data dir."""


class UnreadableInput(PipelineError):
    """An input file that exists but cannot be read (truncated, corrupt, wrong format)."""


class UnusableInput(PipelineError):
    """An input that reads but that the run cannot use; the message says what to fix in the
    input's own terms (file, column, value)."""


class UnmatchedKeys(PipelineError):
    """A join between inputs that leaves a key unmatched (a reception station no route segment
    ends at, a crossing point no segment carries): the message names the keys."""


class DegenerateIndicator(PipelineError):
    """An indicator with one value wherever it exists (or none at all), which the region file
    does not mark `constant_ok`: it would weigh in without telling places apart."""


class RunValidationError(PipelineError):
    """A finished run whose outputs failed validation; it never becomes current."""
