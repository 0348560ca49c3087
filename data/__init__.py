"""Reference data (vocabularies, per-year defaults) and the demo-data builder."""

from pathlib import Path

REFERENCE = Path(__file__).resolve().parent / "reference"


def reference_text(name: str) -> str:
    """Text of a file in ``data/reference`` (UTF-8)."""
    return (REFERENCE / name).read_text("utf-8")
