"""Test-only fault points: lets a test kill the server at an exact step (e.g. files stored, commit not yet).

Inert unless the environment variable SURVEY_FAULT_POINT names the point; reading one dict entry is all it
costs on the hot path.
"""

from __future__ import annotations

import os

__all__ = ["fault_point"]


def fault_point(name: str) -> None:
    if os.environ.get("SURVEY_FAULT_POINT") == name:
        # Die like a killed process: no cleanup, no response, no transaction commit.
        os._exit(86)
