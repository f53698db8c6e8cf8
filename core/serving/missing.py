"""The cells that mean "missing": pandas' default list, shared by the data import (its default
``missing_tokens``) and by serving (CSV request bodies). It lives in core.serving because that
package must stand alone in an exported bundle; core.config reads it from here."""

DEFAULT_MISSING_TOKENS: tuple[str, ...] = (
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
