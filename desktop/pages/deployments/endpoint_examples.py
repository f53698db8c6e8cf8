"""Ready-to-copy requests for a deployment, built from the model's real input schema.

The schema is the version's ``io_schema`` (what ``GET /metadata`` answers as ``inputs``): each
column's type, whether it may be missing, its categories or its training range. A sample row
takes the first category of a text column and the middle of the training range of a number, so
the example predicts without warnings. Plain Python, no Qt.
"""

from __future__ import annotations

import json
from typing import Any

SAMPLE_DATETIME = "2024-01-01T00:00:00Z"


def sample_value(column: dict[str, Any]) -> Any:
    """A value the model accepts for one input column."""
    kind = column.get("type", "string")
    if column.get("categories"):
        return column["categories"][0]
    if kind in ("integer", "float"):
        low, high = column.get("min"), column.get("max")
        if low is None or high is None:
            return 0
        middle = (float(low) + float(high)) / 2
        return round(middle) if kind == "integer" else round(middle, 2)
    if kind == "boolean":
        return True
    if kind == "datetime":
        return SAMPLE_DATETIME
    return "text"


def sample_record(io_schema: dict[str, Any]) -> dict[str, Any]:
    """One row of every input column, in the model's feature order."""
    return {c["name"]: sample_value(c) for c in io_schema.get("inputs", [])}


def predict_body(records: list[dict[str, Any]]) -> str:
    return json.dumps({"records": records}, indent=2)


def curl_example(url: str, record: dict[str, Any], token: bool = False) -> str:
    """``curl`` POSTing one row to /predict (shell-quoted; a token header when needed)."""
    body = json.dumps({"records": [record]}, indent=2)
    quoted = "'" + body.replace("'", "'\\''") + "'"
    lines = [f"curl -s -X POST {url}/predict \\", "  -H 'Content-Type: application/json' \\"]
    if token:
        lines.append('  -H "Authorization: Bearer $SHIPWAY_TOKEN" \\')
    lines.append(f"  -d {quoted}")
    return "\n".join(lines)


def python_example(url: str, record: dict[str, Any], token: bool = False) -> str:
    """A standard-library Python snippet (urllib) that predicts one row and prints the answer."""
    row = python_dict(record)
    imports = ["import json", "import urllib.request"]
    headers = 'headers = {"Content-Type": "application/json"}\n'
    if token:
        imports.insert(1, "import os")
        headers += 'headers["Authorization"] = "Bearer " + os.environ["SHIPWAY_TOKEN"]\n'
    return (
        "\n".join(imports) + "\n\n"
        f"row = {row}\n"
        f"{headers}"
        "request = urllib.request.Request(\n"
        f'    "{url}/predict",\n'
        '    data=json.dumps({"records": [row]}).encode("utf-8"),\n'
        "    headers=headers,\n"
        ")\n"
        "with urllib.request.urlopen(request, timeout=10) as answer:\n"
        "    result = json.load(answer)\n"
        'print(result["predictions"], result.get("probabilities"))\n'
    )


def python_dict(record: dict[str, Any]) -> str:
    """A dict literal of the row, one column a line (None and True, not JSON's null/true)."""

    def literal(value: Any) -> str:
        return json.dumps(value) if isinstance(value, str) else repr(value)

    lines = [f"    {json.dumps(name)}: {literal(value)}," for name, value in record.items()]
    return "{\n" + "\n".join(lines) + "\n}"


def feedback_example(url: str) -> str:
    """How to send the true value of an answered request (live metrics on the Monitoring page)."""
    return (
        f"curl -s -X POST {url}/feedback -H 'Content-Type: application/json' \\\n"
        '  -d \'{"request_id": "REQUEST_ID FROM THE ANSWER", "actual": "TRUE VALUE"}\''
    )
