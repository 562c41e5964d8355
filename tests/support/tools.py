"""Tools some tests run for real: the AWS SAM CLI and the AWS CDK CLI, and Debian programs (chromium).

Neither fits the dev extra. ``aws-sam-cli`` pins its own versions of boto3, cryptography and friends, so
it lives in its own virtual environment (``.tools/sam``); the CDK CLI is an npm package (``.tools/cdk``).
``.ci/run`` installs both before the tests; a test that finds one missing installs it into ``.tools/`` from
the package registries (pip, npm), once. Only when that is impossible (no npm on the machine) does the
test skip, and under CI (``CI`` set, as ``.ci/run`` does) it fails instead: CI must run these checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must run this check: see .ci/run)")
    pytest.skip(message)


def sam_cli() -> Path:
    """The ``sam`` executable: ``$COGNITO_AUTHZ_SAM``, ``.tools/sam``, or installed there now."""
    configured = os.environ.get("COGNITO_AUTHZ_SAM")
    if configured:
        return Path(configured)
    sam = TOOLS / "sam" / "bin" / "sam"
    if not sam.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS / "sam")], check=True)
        subprocess.run(
            [str(TOOLS / "sam" / "bin" / "python"), "-m", "pip", "install", "--quiet", "aws-sam-cli"],
            check=True,
        )
    return sam


def cdk_cli() -> Path:
    """The ``cdk`` executable: ``$COGNITO_AUTHZ_CDK``, ``.tools/cdk``, or installed there with npm now."""
    configured = os.environ.get("COGNITO_AUTHZ_CDK")
    if configured:
        return Path(configured)
    cdk = TOOLS / "cdk" / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            _unavailable("the CDK CLI needs Node.js and npm, which this machine lacks")
        subprocess.run(
            [str(npm), "install", "--prefix", str(TOOLS / "cdk"), "--no-audit", "--no-fund", "aws-cdk@2"],
            check=True,
            capture_output=True,
        )
    return cdk


def debian_program(program: str, package: str) -> str:
    """A Debian program the tests drive (``chromium``...): on PATH, or installed now with apt-get when this
    runs as root (a fresh CI machine, or the README's test command on one); otherwise skipped, or failed
    under CI."""
    found = shutil.which(program)
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
            subprocess.run(command, check=False, env=env, capture_output=True)
        found = shutil.which(program)
    if found is None:
        _unavailable(f"{program} is missing and cannot be installed here (apt-get install -y {package})")
    assert found is not None
    return found


def tool_environment(**extra: str) -> dict[str, str]:
    """This run's environment with its Python first on PATH (``cognito-authz``, ``python``), no telemetry."""
    environment = dict(os.environ)
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    # This checkout's library, whatever the environment has installed (the Makefile runs cognito-authz).
    environment["PYTHONPATH"] = f"{ROOT}{os.pathsep}{environment.get('PYTHONPATH', '')}".rstrip(os.pathsep)
    environment.update(
        SAM_CLI_TELEMETRY="0",
        CDK_DISABLE_VERSION_CHECK="1",
        CDK_DISABLE_CLI_TELEMETRY="true",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_REGION="eu-west-1",
        # No credentials: nothing here may reach AWS, and none of these commands needs to.
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
    )
    environment.update(extra)
    return environment
