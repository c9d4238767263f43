"""Reference data into a data home: an official file (register, populations, targets, statistical
neighbours, LAIT figures), or the demo's subset of them.

Writing the home, the caller holds its writer lock (`csc-returns reference import`, `demo`).
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines import reference
from pipelines.home import DataHome

# A file refused, in one line that names it (its layout unknown, or it cannot be read).
ReferenceError = reference.ReferenceError


def import_file(home: DataHome, path: str | os.PathLike[str]) -> str:
    """Import one reference file into `home`: a summary line (and a `warning:` line for each thing
    left out); ReferenceError, in one line naming the file as given, when it is refused."""
    try:
        return reference.import_reference(Path(path), home)
    except OSError as exc:  # a folder, no permission, a disk full while writing the normalised copy
        raise ReferenceError(f"{os.fspath(path)}: {exc}") from None


def import_demo_reference(home: DataHome) -> list[str]:
    """The demo's reference data (a real subset of the register and populations, made-up targets and
    neighbours, LAIT's published 2022 figures): one summary line per file."""
    return reference.import_demo_reference(home)
