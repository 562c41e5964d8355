"""``cognito-authz package``: real pip installs from the package index, checked from the outside.

The function package built for this machine's Python and CPU is imported in a clean virtual environment
(``python -m venv --without-pip``: no site-packages but its own empty one, nothing of this test run's
environment) and answers a REST TOKEN and an HTTP API 2.0 authorizer event. The arm64 layer is checked
with an oracle independent of the command's own check: every shared object's ELF header and every wheel
tag, read here.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from cognito_authz.cli import demo_events, main
from cognito_authz.cli.common import CliError
from cognito_authz.cli.package_cmd import Target, check_binaries
from cognito_authz.iam import iam_allows
from cognito_authz.testing import LocalIssuer

ROOT = Path(__file__).resolve().parent.parent
AUTHORIZER = ROOT / "examples" / "authorizer"
HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[
    platform.machine().lower()
]
HOST_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "aarch64"}


def elf_machine(data: bytes) -> str | None:
    """The CPU an ELF file is built for, read from its header (e_machine at offset 18)."""
    if data[:4] != b"\x7fELF":
        return None
    order = "little" if data[5] == 1 else "big"
    return ELF_MACHINES.get(int.from_bytes(data[18:20], order), hex(int.from_bytes(data[18:20], order)))


@pytest.fixture(scope="module")
def package_issuer() -> Any:
    with LocalIssuer("eu-west-1_PackageTest", serve=False) as issuer:
        yield issuer


@pytest.fixture(scope="module")
def host_package(tmp_path_factory: pytest.TempPathFactory, package_issuer: LocalIssuer) -> Path:
    """The examples/authorizer function, packaged the way docs/packaging.md says, for this machine."""
    work = tmp_path_factory.mktemp("package")
    jwks = work / "jwks.json"
    jwks.write_text(json.dumps(package_issuer.jwks))
    output = work / "function.zip"
    status = main(
        [
            "package",
            str(output),
            "--runtime",
            HOST_RUNTIME,
            "--arch",
            HOST_ARCH,
            "--policy",
            str(AUTHORIZER / "policy.yaml"),
            "--jwks",
            str(jwks),
            "--include",
            str(AUTHORIZER / "handler.py"),
        ]
    )
    assert status == 0
    unpacked = work / "unpacked"
    with zipfile.ZipFile(output) as archive:
        archive.extractall(unpacked)
    return unpacked


_INVOKE = """
import json, sys
import handler
events = json.load(sys.stdin)
print(json.dumps([handler.handler(event, None) for event in events]))
"""


def test_host_package_answers_events_in_a_clean_venv(
    host_package: Path, package_issuer: LocalIssuer, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    reader = package_issuer.mint_access_token(username="rita", scopes=["orders/read"])
    events = [
        demo_events.rest_token_event(reader, "GET", "/orders/42"),
        demo_events.rest_token_event(reader, "POST", "/orders"),
        demo_events.http_v2_authorizer_event(reader, "GET", "/orders"),
        demo_events.http_v2_authorizer_event(reader, "DELETE", "/orders/42"),
    ]
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(host_package),  # what Lambda puts on sys.path: the function's root
        "PYTHONNOUSERSITE": "1",
        "USER_POOL_ID": package_issuer.user_pool_id,
        "APP_CLIENT_IDS": package_issuer.client_id,
        "JWKS_FILE": "jwks.json",
    }
    completed = subprocess.run(
        [str(python), "-c", _INVOKE],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    rest_allow, rest_deny, http_allow, http_deny = json.loads(completed.stdout)
    assert iam_allows(rest_allow["policyDocument"], events[0]["methodArn"])
    assert rest_allow["context"]["rules"] == '["read-orders"]'  # lists travel as JSON text
    assert not iam_allows(rest_deny["policyDocument"], events[1]["methodArn"])
    for answer, event, allowed in ((http_allow, events[2], True), (http_deny, events[3], False)):
        if "isAuthorized" in answer:
            assert answer["isAuthorized"] is allowed
        else:
            assert iam_allows(answer["policyDocument"], event["routeArn"]) is allowed


def test_clean_venv_sees_only_the_package(host_package: Path, tmp_path: Path) -> None:
    """The venv above really is clean: the library and its dependencies come from the package."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    code = "import cognito_authz, cryptography, pydantic_core, yaml; print(cognito_authz.__file__)"
    bare = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"},
        cwd=tmp_path,  # `python -c` puts the working directory on sys.path: not this checkout
        check=False,
    )
    assert bare.returncode != 0
    assert "ModuleNotFoundError" in bare.stderr
    packaged = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1", "PYTHONPATH": str(host_package)},
        cwd=tmp_path,
        check=True,
    )
    assert packaged.stdout.strip().startswith(str(host_package))


def test_package_holds_policy_jwks_handler_and_license(host_package: Path) -> None:
    assert (host_package / "policy.yaml").read_bytes() == (AUTHORIZER / "policy.yaml").read_bytes()
    assert json.loads((host_package / "jwks.json").read_text())["keys"]
    assert (host_package / "handler.py").is_file()
    assert not (host_package / "bin").exists()
    with zipfile.ZipFile(host_package.parent / "function.zip") as archive:
        # Bytecode compiled by this interpreter would be for the wrong Python version: never shipped.
        assert not [name for name in archive.namelist() if name.endswith(".pyc")]
    licence = next(host_package.glob("cognito_authz-*.dist-info/licenses/LICENSE"))
    assert "Apache License\n                           Version 2.0" in licence.read_text()


@pytest.fixture(scope="module")
def arm_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("layer") / "layer.zip"
    assert main(["package", str(output), "--runtime", "python3.12", "--arch", "arm64", "--layer"]) == 0
    return output


def test_arm64_layer_holds_only_aarch64_binaries_for_python312(arm_layer: Path) -> None:
    with zipfile.ZipFile(arm_layer) as archive:
        names = archive.namelist()
        assert all(name.startswith("python/") for name in names)  # Lambda puts /opt/python on sys.path
        shared = [name for name in names if ".so" in Path(name).name]
        assert shared, "cryptography and pydantic-core ship compiled code: the layer must hold some"
        for name in shared:
            assert elf_machine(archive.read(name)) == "aarch64", name
            # A CPython extension is either for exactly this Python or for the stable ABI.
            assert "cpython-312-aarch64-linux-gnu" in name or ".abi3." in name, name
        wheel_files = [name for name in names if name.endswith(".dist-info/WHEEL")]
        assert len(wheel_files) >= 10
        for name in wheel_files:
            tags = [
                line.split(":", 1)[1].strip()
                for line in archive.read(name).decode().splitlines()
                if line.startswith("Tag:")
            ]
            assert tags, name
            for tag in tags:
                interpreter, abi, plat = tag.split("-")
                if plat == "any":
                    assert abi == "none", tag
                else:
                    assert plat.startswith("manylinux"), tag
                    assert plat.endswith("_aarch64"), tag
                    exact = (interpreter, abi) == ("cp312", "cp312")
                    # The stable ABI from an older CPython 3 also loads on 3.12.
                    stable = abi == "abi3" and interpreter.startswith("cp3") and int(interpreter[3:]) <= 12
                    assert exact or stable, tag
        assert any(name.startswith("python/pydantic_core/") for name in names)
        assert any(name.startswith("python/cryptography/") for name in names)
        infos = archive.infolist()
        assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}  # reproducible


def test_check_binaries_rejects_a_binary_for_the_wrong_cpu(host_package: Path, tmp_path: Path) -> None:
    """The command's own guard: this machine's binaries are not an arm64 (or x86_64) package."""
    other = "arm64" if HOST_ARCH == "x86_64" else "x86_64"
    with pytest.raises(CliError, match=rf"not loadable on python3\.\d+/{other}"):
        check_binaries(host_package, Target(HOST_RUNTIME, other))
    check_binaries(host_package, Target(HOST_RUNTIME, HOST_ARCH))  # and the right target passes


def test_check_binaries_reads_the_elf_header_not_the_name(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    # An x86_64 ELF header under an aarch64 name.
    header = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + (0x3E).to_bytes(2, "little")
    (site / "fake.cpython-312-aarch64-linux-gnu.so").write_bytes(header + b"\x00" * 40)
    with pytest.raises(CliError, match="ELF machine 0x3e"):
        check_binaries(site, Target("python3.12", "arm64"))


@pytest.mark.parametrize(
    ("runtime", "arch", "tag", "accepted"),
    [
        ("python3.12", "arm64", "cp312-cp312-manylinux_2_17_aarch64", True),
        ("python3.12", "arm64", "cp312-cp312-manylinux_2_34_aarch64", True),
        ("python3.12", "arm64", "cp312-cp312-manylinux_2_35_aarch64", False),  # glibc newer than AL2023's
        ("python3.11", "x86_64", "cp311-cp311-manylinux_2_28_x86_64", False),  # AL2 has glibc 2.26
        ("python3.11", "x86_64", "cp311-cp311-manylinux_2_26_x86_64", True),
        ("python3.12", "arm64", "cp312-cp312-manylinux_2_17_x86_64", False),
        ("python3.12", "arm64", "cp311-cp311-manylinux_2_17_aarch64", False),
        ("python3.12", "arm64", "cp39-abi3-manylinux_2_17_aarch64", True),
        ("python3.10", "arm64", "cp311-abi3-manylinux_2_17_aarch64", False),  # abi3 from a newer Python
        ("python3.12", "x86_64", "cp312-cp312-manylinux1_x86_64", True),
        ("python3.12", "x86_64", "cp312-cp312-musllinux_1_2_x86_64", False),
        ("python3.12", "x86_64", "py3-none-any", True),
        ("python3.12", "x86_64", "py2-none-any", False),
        ("python3.12", "x86_64", "cp312-cp312-win_amd64", False),
    ],
)
def test_target_accepts_exactly_the_runtimes_tags(runtime: str, arch: str, tag: str, accepted: bool) -> None:
    assert Target(runtime, arch).accepts_tag(tag) is accepted


def test_pip_is_asked_for_the_functions_platform() -> None:
    args = Target("python3.12", "arm64").pip_platform_args()
    assert "--only-binary=:all:" in args
    assert args[args.index("--python-version") + 1] == "3.12"
    assert args[args.index("--implementation") + 1] == "cp"
    platforms = {args[i + 1] for i, arg in enumerate(args) if arg == "--platform"}
    assert {"manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"} <= platforms
    assert all(p.endswith("_aarch64") for p in platforms)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cognito-authz: error: ")
    return lines[0]


def test_layer_refuses_function_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["package", str(tmp_path / "l.zip"), "--layer", "--policy", str(AUTHORIZER / "policy.yaml")]
    )
    assert status == 1
    assert "a layer holds libraries only" in one_error_line(capsys.readouterr().err)


def test_bad_policy_fails_the_build_not_the_cold_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps({"version": 1, "rules": [{"id": "x", "routes": ["GET /a"], "when": {"grups": []}}]})
    )
    assert main(["package", str(tmp_path / "out"), "--policy", str(policy)]) == 1
    assert "policy.json" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_bad_jwks_and_existing_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    assert main(["package", str(tmp_path / "out"), "--jwks", str(jwks)]) == 1
    assert "is not a JWKS" in one_error_line(capsys.readouterr().err)
    existing = tmp_path / "existing.zip"
    existing.write_bytes(b"")
    assert main(["package", str(existing)]) == 1
    assert "--force" in one_error_line(capsys.readouterr().err)


def test_unknown_runtime_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["package", str(tmp_path / "out"), "--runtime", "python3.9"]) == 2
    assert "invalid choice" in one_error_line(capsys.readouterr().err)


# --- what the distribution holds and needs -------------------------------------------------------------

#: Import name of each required distribution.
_IMPORT_NAMES = {
    "pyjwt": "jwt",
    "cryptography": "cryptography",
    "pybase64": "pybase64",  # SIMD base64 for token segments: ~0.12x the RSA floor per fresh verify
    "requests": "requests",
    "pydantic": "pydantic",
}


def _required_distributions() -> list[str]:
    import re

    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [
        re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()
        for requirement in project["dependencies"]
    ]


def _imported_top_levels() -> set[str]:
    import ast

    names: set[str] = set()
    for source in (ROOT / "cognito_authz").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_the_required_dependencies_are_the_agreed_ones() -> None:
    assert sorted(_required_distributions()) == sorted(_IMPORT_NAMES)


@pytest.mark.parametrize("distribution", sorted(_IMPORT_NAMES))
def test_every_required_dependency_is_imported_by_the_library(distribution: str) -> None:
    """A required dependency nobody imports is weight in every Lambda package: make it an extra."""
    assert _IMPORT_NAMES[distribution] in _imported_top_levels()


@pytest.mark.slow
def test_wheel_and_sdist_carry_the_license(tmp_path: Path) -> None:
    import tarfile

    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    (sdist,) = tmp_path.glob("*.tar.gz")
    licence = (ROOT / "LICENSE").read_bytes()
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(name) == licence
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        assert "License-Expression: Apache-2.0" in archive.read(metadata).decode()
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/LICENSE"))
        extracted = archive.extractfile(member)
        assert extracted is not None
        assert extracted.read() == licence


def test_force_never_deletes_a_folder_that_is_not_a_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "handler.py").write_text("precious = True\n")
    assert main(["package", str(source), "--force"]) == 1
    assert "refusing to replace it" in one_error_line(capsys.readouterr().err)
    assert (source / "handler.py").read_text() == "precious = True\n"
