"""The documentation says what the code does."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

from overlay_gen.advice import REGISTRY as ADVICE
from overlay_gen.captures import PROVIDERS
from overlay_gen.join import REGISTRY as JOIN_POINTS


def test_aspect_reference_is_generated_from_the_code() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen-aspect-docs"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_reference_and_readme_name_every_kind_and_placeholder() -> None:
    reference = (REPO / "docs" / "aspects.md").read_text()
    readme = (REPO / "README.md").read_text()
    for key in [*JOIN_POINTS, *ADVICE]:
        assert f"`{key}`" in reference, key
        assert f"`{key}`" in readme, key
    for name in PROVIDERS:
        assert name in reference, name


def test_readme_lists_the_exit_codes_the_errors_use() -> None:
    from overlay_gen import errors

    readme = (REPO / "README.md").read_text()
    for cls in (errors.UsageError, errors.ConfigError, errors.GoEnvironmentError, errors.RewriteError):
        assert f"| {cls.exit_code} |" in readme
