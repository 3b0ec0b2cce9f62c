"""Safe, streaming unpacking of zip, gzip, tar and tar.gz archives for the pipeline.

    from bankgate.archives import UnpackLimits, iter_members, scratch_dir

    limits = UnpackLimits()
    with scratch_dir(None, limits.scratch_budget_bytes) as scratch:
        for member in iter_members(path, name="batch.zip", limits=limits, scratch=scratch):
            route(member.path, member.kind, member.stream)   # lineage, detected type, bytes

Members are streamed out of the archive, never extracted: there is no path to escape
through and no disk to fill. Nested archives are unpacked by content up to a depth.
Names, entry types, encryption, sizes, ratios and entry layout are checked; any problem
raises an ``ArchiveError`` whose ``reason`` says which member and which limit, and the
caller quarantines the whole archive with it.
"""

from bankgate.archives.errors import (
    ArchiveBomb,
    ArchiveError,
    CorruptArchive,
    EncryptedMember,
    OutOfScratch,
    TooDeep,
    TooManyMembers,
    UnsafeMember,
    UnsupportedMember,
)
from bankgate.archives.limits import UnpackLimits, UnpackStats
from bankgate.archives.scratch import scratch_dir, scratch_usage
from bankgate.archives.unpack import Member, iter_members

__all__ = [
    "ArchiveBomb",
    "ArchiveError",
    "CorruptArchive",
    "EncryptedMember",
    "Member",
    "OutOfScratch",
    "TooDeep",
    "TooManyMembers",
    "UnpackLimits",
    "UnpackStats",
    "UnsafeMember",
    "UnsupportedMember",
    "iter_members",
    "scratch_dir",
    "scratch_usage",
]
