"""The desk's own YAML files (profiles, vocabulary, synonyms), read with libyaml when it is there.

PyYAML's pure-Python safe loader took most of a process start's profile loading (0.65 s for
the five profiles); libyaml's safe loader reads the same files several times quicker and
refuses the same things. Admin-edited YAML has its own stricter loader (chatbot/admin/editor.py).
"""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str) -> Any:
    """The document in `text`, as yaml.safe_load reads it.

    Raises:
        yaml.YAMLError: the text is not valid YAML.
    """
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506  # a safe loader
