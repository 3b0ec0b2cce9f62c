"""NACHA / ACH files: layouts, a streaming validating reader, and a writer."""

from parsers.nacha.reader import NachaParser

__all__ = ["NachaParser"]
