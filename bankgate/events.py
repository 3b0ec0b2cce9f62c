"""Object-created events turned into the objects they point at.

AWS events are read in ``bankgate.lambdas.process`` with Powertools' event data classes; this module
holds what the entry points share and the GCS CloudEvent, which needs no AWS library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bankgate.pipeline import StagedObject


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    bucket: str
    object: StagedObject


class EventError(ValueError):
    """A record that is not an object-created event we understand."""


def from_gcs_cloudevent(data: Mapping[str, Any]) -> ObjectEvent:
    """``google.cloud.storage.object.v1.finalized``: the generation orders versions of a key."""
    generation = str(data.get("generation", ""))
    return ObjectEvent(
        data["bucket"],
        StagedObject(
            key=data["name"],
            etag=str(data.get("etag", "")),
            version=generation or None,
            sequencer=generation.rjust(20, "0") if generation else "",
        ),
    )
