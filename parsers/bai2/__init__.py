"""BAI2 (BAI cash management balance reporting, version 2) files.

``records`` holds the record types and their field tables, ``physical`` turns a byte stream
into logical records (line ends, fixed-length records, continuations), ``parser`` checks
nesting and control totals. The public names are all importable from here.
"""

from bankgate.parsers.bai2.parser import Bai2Parser
from bankgate.parsers.bai2.physical import looks_like_bai2
from bankgate.parsers.bai2.records import (
    FUNDS_TYPES,
    RECORD_CLASSES,
    AccountIdentifier,
    AccountTrailer,
    FileHeader,
    FileTrailer,
    GroupHeader,
    GroupTrailer,
    TransactionDetail,
    category,
    direction,
)

__all__ = [
    "FUNDS_TYPES",
    "RECORD_CLASSES",
    "AccountIdentifier",
    "AccountTrailer",
    "Bai2Parser",
    "FileHeader",
    "FileTrailer",
    "GroupHeader",
    "GroupTrailer",
    "TransactionDetail",
    "category",
    "direction",
    "looks_like_bai2",
]
