"""Positioned text of a page: segments grouped into lines, and questions asked by position.

A text layer (pdfium) and an OCR result (Tesseract words) become the same thing here: runs
of text with boxes, in points measured from the top-left corner. Extractors then ask "the
text right of this label", "the lines in this box" or "the lines between these two
headings" without caring where the words came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Segment(NamedTuple):
    x0: float
    top: float
    x1: float
    bottom: float
    text: str

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(slots=True)
class Line:
    """Segments on one baseline, left to right; ``text`` joins them with one space, or two
    where the gap is wide (a column break), so patterns can tell columns apart with ``\\s{2,}``."""

    segments: list[Segment]
    text: str = ""
    starts: list[int] = field(default_factory=list)  # offset in ``text`` of each segment

    def __post_init__(self) -> None:
        parts: list[str] = []
        offset = 0
        for k, s in enumerate(self.segments):
            if k:
                gap = s.x0 - self.segments[k - 1].x1
                sep = "  " if gap > max(s.height, self.segments[k - 1].height) * 1.2 else " "
                parts.append(sep)
                offset += len(sep)
            self.starts.append(offset)
            parts.append(s.text)
            offset += len(s.text)
        self.text = "".join(parts)

    @property
    def top(self) -> float:
        return min(s.top for s in self.segments)

    @property
    def bottom(self) -> float:
        return max(s.bottom for s in self.segments)

    @property
    def x0(self) -> float:
        return self.segments[0].x0

    def phrases(self) -> list[list[Segment]]:
        """Runs of segments separated by narrow gaps (``text`` joins them with one space): a label
        or a value, where OCR gives one segment per word and pdfium one per run of words."""
        out: list[list[Segment]] = []
        for k, s in enumerate(self.segments):
            if k and self.text[self.starts[k] - 2 : self.starts[k]] != "  ":
                out[-1].append(s)
            else:
                out.append([s])
        return out

    def span(self, start: int, end: int) -> Segment:
        """The box of ``text[start:end]``: from the segment holding ``start`` to the one holding ``end - 1``."""
        first = last = 0
        for k, offset in enumerate(self.starts):
            if offset <= start:
                first = k
            if offset < end:
                last = k
        a, b = self.segments[first], self.segments[last]
        width_a = max(a.x1 - a.x0, 0.1) / max(len(a.text), 1)
        width_b = max(b.x1 - b.x0, 0.1) / max(len(b.text), 1)
        x0 = a.x0 + max(0, start - self.starts[first]) * width_a
        x1 = b.x0 + min(len(b.text), end - self.starts[last]) * width_b
        covered = self.segments[first : last + 1]  # its own height, not a taller neighbour's
        top, bottom = min(s.top for s in covered), max(s.bottom for s in covered)
        return Segment(x0, top, x1, bottom, self.text[start:end])


def group_lines(segments: Iterable[Segment]) -> list[Line]:
    """Segments whose vertical middles lie within half a text height of each other form a line."""
    ordered = sorted(segments, key=lambda s: (s.middle, s.x0))
    lines: list[list[Segment]] = []
    for s in ordered:
        if lines:
            current = lines[-1]
            ref = current[0]
            if abs(s.middle - ref.middle) <= min(s.height, ref.height) * 0.5:
                current.append(s)
                continue
        lines.append([s])
    return [Line(sorted(group, key=lambda s: s.x0)) for group in lines]


@dataclass(slots=True)
class Page:
    """One page: its number, where its text came from (``text``, ``ocr`` or ``none``), its lines."""

    number: int
    width: float
    height: float
    source: str
    chars: int
    image_only: bool
    segments: list[Segment]
    lines: list[Line] = field(default_factory=list)

    @classmethod
    def from_worker(cls, data: dict[str, Any]) -> Page:
        segments = [Segment(*s) for s in data["segments"]]
        page = cls(
            data["number"], data["width"], data["height"], data["source"], data["chars"], data["image_only"], segments
        )
        page.lines = group_lines(segments)
        return page

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def find(self, pattern: re.Pattern[str], *, below: float = -1.0) -> Hit | None:
        """The first line (top down, starting below ``below``) matching ``pattern``."""
        for line in self.lines:
            if line.top < below:
                continue
            m = pattern.search(line.text)
            if m:
                return Hit(line, line.span(m.start(), m.end()), m)
        return None

    def find_wrapped(self, pattern: re.Pattern[str], *, below: float = -1.0) -> Hit | None:
        """Like ``find``, and also a label printed over two rows (``INSR`` over ``LTR``,
        ``COMMERCIAL GENERAL`` over ``LIABILITY``): a phrase joined with the phrase under it.
        The hit of a wrapped label has both rows as its line, so its top and bottom span them."""
        lines = self.lines
        for k, line in enumerate(lines):
            if line.top < below:
                continue
            m = pattern.search(line.text)
            if m:
                return Hit(line, line.span(m.start(), m.end()), m)
            for phrase in line.phrases():
                q = self._under(k, phrase)
                if q is None:
                    continue
                rows = Line([*phrase, q])
                m = pattern.search(rows.text)
                upper = len(rows.text) - len(q.text) - 1  # the length of the first row's text
                if m and m.start() < upper < m.end():
                    a = rows.span(m.start(), upper)  # the matched part of the first row
                    box = Segment(min(a.x0, q.x0), a.top, max(a.x1, q.x1), q.bottom, m.group())
                    return Hit(rows, box, m)
        return None

    def _under(self, k: int, phrase: list[Segment]) -> Segment | None:
        """The words on the next row below ``phrase`` (within a line's height) that start under
        it: a neighbouring column's text on that row (an insurer letter) is not part of the label."""
        p = Segment(phrase[0].x0, phrase[0].top, phrase[-1].x1, max(s.bottom for s in phrase), "")
        for line in self.lines[k + 1 :]:
            if line.top > p.bottom + p.height:
                return None
            if line.top <= p.middle:
                continue  # the same row, grouped apart (a different font size)
            words = [s for s in line.segments if p.x0 - p.height <= s.x0 < p.x1]
            if words:
                top, bottom = min(s.top for s in words), max(s.bottom for s in words)
                return Segment(words[0].x0, top, max(s.x1 for s in words), bottom, " ".join(s.text for s in words))
        return None

    def region_lines(
        self, x0: float, top: float, x1: float, bottom: float, *, besides: Line | None = None
    ) -> list[Line]:
        """The lines formed by the segments whose middle lies inside the box, top down; with
        ``besides``, not counting that line's own segments (a label's taller neighbours)."""
        inside = [s for s in self.segments if x0 <= (s.x0 + s.x1) / 2 < x1 and top <= s.middle < bottom]
        if besides is not None:
            inside = [s for s in inside if s not in besides.segments]
        return group_lines(inside)

    def region(self, x0: float, top: float, x1: float, bottom: float) -> list[str]:
        """Text of the lines whose segments have their middle inside the box, top down."""
        return [line.text for line in self.region_lines(x0, top, x1, bottom)]


class Hit(NamedTuple):
    """Where a pattern matched: the line, the box of the matched text, and the match."""

    line: Line
    box: Segment
    match: re.Match[str]

    def after(self, stop: float | None = None) -> str:
        """The rest of the line after the match, up to the first segment starting at ``stop``."""
        line, end = self.line, self.match.end()
        cut = len(line.text)
        if stop is not None:
            for k, s in enumerate(line.segments):
                if line.starts[k] >= end and s.x0 >= stop:
                    cut = line.starts[k]
                    break
        return line.text[end:cut].strip(" :")
