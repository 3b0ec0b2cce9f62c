"""Why an archive was refused. One base class, so the caller quarantines with one ``except``.

Every error carries a ``reason`` a person can act on: which member (its lineage from the
archive down), which limit, and the actual against the allowed number. Nothing else escapes
for malformed input; I/O errors of the source itself (a failing disk or network) are not
malformed input and propagate unchanged, so they can be retried instead of quarantined.
"""

from __future__ import annotations

from typing import Any


def label(path: tuple[str, ...]) -> str:
    """A member's lineage for messages: ``batch.zip > inner.zip > payroll.ach``."""
    return " > ".join(path) if path else "<archive>"


class ArchiveError(Exception):
    """An archive that must be quarantined as a whole; ``reason`` says why.

    ``member`` is the lineage of the offending member (archive name first); ``limit``,
    ``actual`` and ``allowed`` are set when a configured limit was crossed.
    """

    def __init__(
        self,
        reason: str,
        *,
        member: tuple[str, ...] = (),
        limit: str | None = None,
        actual: int | float | None = None,
        allowed: int | float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.member = member
        self.limit = limit
        self.actual = actual
        self.allowed = allowed

    def to_dict(self) -> dict[str, Any]:
        """The fields of a quarantine ``.error.json``."""
        out: dict[str, Any] = {"error": type(self).__name__, "reason": self.reason, "member": list(self.member)}
        if self.limit is not None:
            out.update(limit=self.limit, actual=self.actual, allowed=self.allowed)
        return out


class UnsafeMember(ArchiveError):
    """A member name or type that could escape the scratch dir: absolute, ``..``, drive, link, device."""


class ArchiveBomb(ArchiveError):
    """Inflates past a size or ratio limit, or entries share compressed data (overlapping zip entries)."""


class EncryptedMember(ArchiveError):
    """A password-protected member: it cannot be read here, so the archive goes to quarantine."""


class UnsupportedMember(ArchiveError):
    """A compression method this gateway does not read (only stored and deflate are)."""


class TooDeep(ArchiveError):
    """Archives nested deeper than ``UnpackLimits.max_depth``."""


class TooManyMembers(ArchiveError):
    """More entries (all levels together) than ``UnpackLimits.max_members``."""


class OutOfScratch(ArchiveError):
    """Not enough scratch budget or free disk; a bigger runner (batch) may still handle the file."""


class CorruptArchive(ArchiveError):
    """Truncated or malformed data: bad headers, CRC or length mismatch, invalid compressed data."""
