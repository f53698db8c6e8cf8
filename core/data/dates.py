"""Dates written other ways than ISO 8601, typed when a whole column reads one way.

A text column becomes ``datetime`` when every value is a real calendar date (or date and time)
written in one layout. The layouts, besides ISO 8601 (``2012-01-31``, ``2012-01-31 10:00``,
``2012-01-31T10:00:00Z``, which pyarrow casts):

- year first: ``2012/01/31``, ``2012.01.31``, ``2012-1-31``;
- year last, day and month in either order: ``31/01/2012``, ``01/31/2012`` (also with ``-`` or
  ``.``);
- month names, in English: ``Jan 31 2012``, ``Jan 31, 2012``, ``31 January 2012``,
  ``31-Jan-2012``, ``2012-Jan-31``;

each alone or followed by a time (``10:00`` or ``10:00:00``), the same way in every row. A column
that holds several layouts, or a cell that is not a date in the column's layout (``2012/02/30``,
a word, a two-digit year), stays text, and the import report says why (kind ``date_formats`` or
``not_dates``). Two-digit years (``1/2/12``) are never read as dates.

**Day and month order.** ``01/02/2012`` is the 1st of February in Europe and the 2nd of January
in the United States. A column is read in the order that makes every value a date: a day above
12 anywhere settles it. A column where both orders work is never guessed: with ``date_order``
``"auto"`` (the default) it stays text and the report says so (kind ``date_order``), naming the
column and the option to pass (``--date-order day-first`` or ``month-first``). The option only
settles such ties; a column whose values show their order is read in that order.

**Digits only.** ``20120101`` is a date only when the whole column is integers that are valid
YYYYMMDD dates between 1900 and 2100 *and* the column's name says it holds dates (a word such
as ``date``, ``day``, ``time``, ``dt``, ``ts``, ``period``, or a name ending in ``date``);
otherwise integers stay integers, since order numbers and amounts can look the same.

All of it is vectorised: the sample (1,000 values) picks the layout, with a few calls of
``pyarrow.compute.strptime`` on it; then the whole column is parsed once with the winning format.
The C library's ``strptime`` rolls impossible dates over (``2012/02/30`` becomes the 1st of
March), so rows parsed as the 1st to 3rd of a month have their written day checked against it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.data.arrow_pool import import_pool
from core.data.report import ImportReport
from core.errors import UsageError

DATE_ORDERS = ("auto", "day_first", "month_first")
ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_ZONE = re.compile(r"[+-]\d{2}:?\d{2}$")
_NAME = r"[A-Za-z]{3,9}"
# What a date looks like before any parse: a cheap test that turns away other text at once.
DATE_SHAPE = re.compile(
    rf"^(?:\d{{4}}[-/.](?:\d{{1,2}}|{_NAME})[-/.]\d{{1,2}}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
    rf"|\d{{1,2}}[- ]{_NAME}[- ]\d{{4}}"
    rf"|{_NAME} +\d{{1,2}},? +\d{{4}})"
    r"(?: \d{1,2}:\d{2}(?::\d{2})?)?$"
)
_TIMES = ("", " %H:%M", " %H:%M:%S")  # by the number of ':' in the first value
_TIME_EXAMPLES = {"": "", " %H:%M": " 10:00", " %H:%M:%S": " 10:00:00"}
_FIRST_YEAR, _LAST_YEAR = 1000, 9999  # four-digit years: "1/2/12" is not read as year 12


@dataclass(frozen=True)
class Layout:
    """One way of writing a date: a ``strptime`` format and how the report shows it."""

    format: str
    example: str
    order: str | None = None  # "day_first" / "month_first" for numbers of either order


LAYOUTS = (
    Layout("%Y-%m-%d", "2012-01-31"),
    Layout("%Y/%m/%d", "2012/01/31"),
    Layout("%Y.%m.%d", "2012.01.31"),
    Layout("%d/%m/%Y", "31/01/2012", "day_first"),
    Layout("%m/%d/%Y", "01/31/2012", "month_first"),
    Layout("%d-%m-%Y", "31-01-2012", "day_first"),
    Layout("%m-%d-%Y", "01-31-2012", "month_first"),
    Layout("%d.%m.%Y", "31.01.2012", "day_first"),
    Layout("%m.%d.%Y", "01.31.2012", "month_first"),
    Layout("%b %d %Y", "Jan 31 2012"),
    Layout("%b %d, %Y", "Jan 31, 2012"),
    Layout("%d %b %Y", "31 Jan 2012"),
    Layout("%d-%b-%Y", "31-Jan-2012"),
    Layout("%Y-%b-%d", "2012-Jan-31"),
)


@dataclass(frozen=True)
class DateProblem:
    """Why a column of dates stays text.

    ``kind`` is ``date_order`` (both day/month orders work), ``date_formats`` (the sample holds
    several layouts) or ``not_dates`` (``bad`` marks the cells that are not dates in ``layout``).
    """

    kind: str
    examples: tuple[str, ...]
    layout: str | None = None  # how the column's layout looks, e.g. "2012/01/31 10:00"
    bad: np.ndarray | None = field(default=None, compare=False)


def check_date_order(order: str) -> str:
    """``order`` as one of :data:`DATE_ORDERS` (``day-first`` is accepted for ``day_first``)."""
    normal = order.replace("-", "_")
    if normal not in DATE_ORDERS:
        raise UsageError(
            f"unknown date order {order!r}",
            hint="use auto, day-first (31/01/2012) or month-first (01/31/2012)",
        )
    return normal


def looks_like_dates(sample: list[str]) -> bool:
    """Whether every sampled value is shaped like a date (ISO or another layout)."""
    return bool(sample) and all(ISO_DATE.match(v) or DATE_SHAPE.match(v) for v in sample)


def read_dates(
    values: pa.ChunkedArray, sample: list[str], order: str = "auto"
) -> pa.ChunkedArray | DateProblem | None:
    """The column as timestamps, a :class:`DateProblem` (it stays text), or ``None``.

    ``None`` means the column does not look like dates at all. ``values`` has its missing cells
    as nulls; ``sample`` is the typing rules' sample of its present values.
    """
    if not looks_like_dates(sample):
        return None
    if all(ISO_DATE.match(v) for v in sample):
        zoned = any(v.endswith("Z") or _ZONE.search(v[10:]) for v in sample)
        target = pa.timestamp("us", tz="UTC") if zoned else pa.timestamp("us")
        try:
            return pc.cast(values, target, memory_pool=import_pool())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # a cell further down is not ISO, or not a real date: the layouts say which
    return _by_layout(values, sample, order)


def _by_layout(
    values: pa.ChunkedArray, sample: list[str], order: str
) -> pa.ChunkedArray | DateProblem | None:
    times = _TIMES[min(sample[0].count(":"), 2)]
    head = pa.chunked_array([pa.array(sample, pa.string())])
    counts = {layout: int(_valid(head, layout.format + times).sum()) for layout in LAYOUTS}
    whole = [layout for layout, count in counts.items() if count == len(sample)]
    if not whole:
        return _not_one_layout(values, sample, times, counts)
    ordered = [layout for layout in whole if layout.order]
    if len(ordered) > 1:  # both orders read the sample: the whole column may settle it
        return _either_order(values, sample, times, ordered, order)
    return _parse_or_problem(values, whole[0], times)


def _not_one_layout(
    values: pa.ChunkedArray, sample: list[str], times: str, counts: dict[Layout, int]
) -> DateProblem | None:
    best = max(counts, key=lambda layout: counts[layout])  # the first of the best, on a tie
    if counts[best] == 0:
        return None
    head = pa.chunked_array([pa.array(sample, pa.string())])
    fits = np.zeros(len(sample), dtype=bool)
    for layout in LAYOUTS:
        for other in _TIMES:
            fits |= _valid(head, layout.format + other)
    if fits.all():  # each value is a date, but not all of them the same way
        misfit = int(np.argmin(_valid(head, best.format + times)))
        return DateProblem("date_formats", (sample[0], sample[misfit]))
    result = _parse_or_problem(values, best, times)
    return result if isinstance(result, DateProblem) else None


def _either_order(
    values: pa.ChunkedArray, sample: list[str], times: str, layouts: list[Layout], order: str
) -> pa.ChunkedArray | DateProblem:
    parsed = {layout.order: _parse(values, layout.format + times) for layout in layouts}
    fine = [layout for layout in layouts if _all_valid(values, parsed[layout.order], layout, times)]
    if len(fine) == 1:
        return parsed[fine[0].order]
    if len(fine) == 2:
        if order == "auto":
            return DateProblem("date_order", (sample[0],))
        return parsed[order]
    chosen = next((layout for layout in layouts if layout.order == order), layouts[0])
    bad = _bad(values, parsed[chosen.order], chosen, times)
    return DateProblem("not_dates", (), chosen.example + _TIME_EXAMPLES[times], bad)


def _parse_or_problem(
    values: pa.ChunkedArray, layout: Layout, times: str
) -> pa.ChunkedArray | DateProblem:
    parsed = _parse(values, layout.format + times)
    if _all_valid(values, parsed, layout, times):
        return parsed
    bad = _bad(values, parsed, layout, times)
    return DateProblem("not_dates", (), layout.example + _TIME_EXAMPLES[times], bad)


def _parse(values: pa.ChunkedArray, fmt: str) -> pa.ChunkedArray:
    return pc.strptime(values, format=fmt, unit="us", error_is_null=True, memory_pool=import_pool())


def _all_valid(
    values: pa.ChunkedArray, parsed: pa.ChunkedArray, layout: Layout, times: str
) -> bool:
    """Every present cell parsed, with a four-digit year, to the day it names."""
    if parsed.null_count != values.null_count:
        return False
    bounds = pc.min_max(pc.year(parsed))
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low is not None and (low < _FIRST_YEAR or high > _LAST_YEAR):
        return False
    return not _rolled_over(values, parsed, layout.format + times).any()


def _bad(
    values: pa.ChunkedArray, parsed: pa.ChunkedArray, layout: Layout, times: str
) -> np.ndarray:
    """True for each present cell that is not a date in ``layout`` (the error path only)."""
    years = pc.year(parsed)
    outside = pc.or_(pc.less(years, _FIRST_YEAR), pc.greater(years, _LAST_YEAR))
    failed = pc.or_(pc.and_(pc.is_valid(values), pc.is_null(parsed)), pc.fill_null(outside, False))
    rolled = _rolled_over(values, parsed, layout.format + times)
    return _flags(failed) | rolled


def _flags(mask: pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).astype(bool)


def _rolled_over(values: pa.ChunkedArray, parsed: pa.ChunkedArray, fmt: str) -> np.ndarray:
    """True where ``strptime`` moved an impossible day into the next month (30 Feb → 1 Mar).

    Such a cell lands on the 1st to 3rd; only those cells have their written day read back.
    """
    days = pc.day(parsed)
    early = _flags(pc.less_equal(days, 3))
    rolled = np.zeros(len(values), dtype=bool)
    if not early.any():
        return rolled
    where = pa.array(early)
    written = pc.extract_regex(pc.filter(values, where), _day_pattern(fmt))
    day = pc.cast(pc.struct_field(written, "d"), pa.int64())
    rolled[early] = _flags(pc.fill_null(pc.not_equal(day, pc.filter(days, where)), True))
    return rolled


def _day_pattern(fmt: str) -> str:
    """A regular expression for ``fmt`` whose group ``d`` is the written day."""
    pieces = {"%d": r"\s*(?P<d>\d{1,2})", "%m": r"\s*\d{1,2}", "%Y": r"\s*\d{1,4}",
              "%b": r"\s*[A-Za-z]+", "%H": r"\s*\d{1,2}", "%M": r"\s*\d{1,2}",
              "%S": r"\s*\d{1,2}"}  # fmt: skip
    parts = re.split(r"(%[a-zA-Z])", fmt)
    body = "".join(
        pieces[part] if part in pieces else r"\s*" if part == " " else re.escape(part)
        for part in parts
        if part
    )
    return f"^{body}$"


def _valid(head: pa.ChunkedArray, fmt: str) -> np.ndarray:
    """Which sampled values are dates in ``fmt`` (four-digit years, real days)."""
    parsed = _parse(head, fmt)
    good = _flags(pc.and_(pc.is_valid(parsed), pc.greater_equal(pc.year(parsed), _FIRST_YEAR)))
    return good & ~_rolled_over(head, parsed, fmt)


def report_dates(
    name: str,
    values: pa.ChunkedArray,
    problem: DateProblem,
    report: ImportReport,
    line_of: Callable[[int], int | None],
) -> None:
    """Say why a column of dates stays text, and what to do about it."""
    if problem.kind == "date_order":
        report.add(
            "date_order",
            f"column {name!r} holds dates like {problem.examples[0]!r} that read both as "
            "day/month and as month/day, so it stays text; to read them as dates, import "
            "again with --date-order day-first or --date-order month-first (ImportOptions("
            "date_order='day_first' or 'month_first'))",
            column=name,
            orders=["day_first", "month_first"],
        )
    elif problem.kind == "date_formats":
        first, other = problem.examples
        report.add(
            "date_formats",
            f"column {name!r} holds dates written in several ways ({first!r}, {other!r}), so "
            "it stays text; write them one way to have them read as dates",
            column=name,
        )
    else:
        bad = pa.chunked_array([pa.array(problem.bad)])
        report.add_listed(
            "not_dates",
            name,
            values,
            bad,
            line_of,
            lambda count, tokens, where: (
                f"column {name!r} holds dates written like "
                f"{problem.layout!r}, but {count} cells are not dates that way ({tokens}), first "
                f"at {where}; it stays text"
            ),
        )


# -- digits only: YYYYMMDD ---------------------------------------------------------------

_DATE_WORDS = frozenset(
    ["date", "dates", "day", "time", "dt", "ts", "timestamp", "datetime", "period", "yyyymmdd",
     "ymd", "when"]
)  # fmt: skip
COMPACT_LOW, COMPACT_HIGH = 19000101, 21001231


def name_suggests_date(name: str) -> bool:
    """Whether a column's name says it holds dates: ``date``, ``order_dt``, ``BirthDate``..."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower()
    words = re.findall(r"[a-z]+", spaced)
    return any(word in _DATE_WORDS or word.endswith("date") for word in words)


def compact_dates(name: str, numbers: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """An integer column of YYYYMMDD dates (1900–2100) as timestamps, if its name says dates.

    ``None`` when the name does not suggest dates, or any value is not such a date.
    """
    if not name_suggests_date(name) or numbers.null_count == len(numbers):
        return None
    bounds = pc.min_max(numbers)
    if bounds["min"].as_py() < COMPACT_LOW or bounds["max"].as_py() > COMPACT_HIGH:
        return None
    present = pc.is_valid(numbers).to_numpy(zero_copy_only=False)
    digits = pc.fill_null(numbers, COMPACT_LOW).to_numpy(zero_copy_only=False)
    year, month, day = digits // 10000, digits // 100 % 100, digits % 100
    if np.any((month < 1) | (month > 12) | (day < 1)):
        return None
    first = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    length = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(int)
    if np.any(day > length):
        return None
    stamps = (first.astype("datetime64[D]") + (day - 1)).astype("datetime64[us]")
    return pa.chunked_array([pa.array(stamps, pa.timestamp("us"), mask=~present)])
