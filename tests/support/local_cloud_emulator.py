"""scripts/local-cloud-emulator's names (its corrections and install()), loaded once, without installing
anything: the unit tests apply single corrections to moto in-process."""

from __future__ import annotations

import runpy
from pathlib import Path

EMULATOR = runpy.run_path(str(Path(__file__).resolve().parents[2] / "scripts" / "local-cloud-emulator"), run_name="emulator")
