"""Files shipped inside the installed package (templates), found through importlib.resources."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def package_dir(package: str, *parts: str) -> Path:
    """A directory shipped in `package`, wherever it is installed (wheel or source tree).

    Never next to the source tree: an installed Loket runs from any directory. Jinja's
    FileSystemLoader needs a real directory, which every pip install provides (wheels are
    unpacked); a zipped install is refused with a clear message instead of a missing file.

    Raises:
        RuntimeError: the package is not installed as plain files.
    """
    found = resources.files(package).joinpath(*parts)
    if not isinstance(found, Path) or not found.is_dir():
        raise RuntimeError(f"{package}/{'/'.join(parts)} is not a directory of installed files")
    return found
