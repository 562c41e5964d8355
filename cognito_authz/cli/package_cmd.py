"""``cognito-authz package``: a Lambda deployment package (directory or zip) or a layer zip.

The library is pure Python, but two of its dependencies are not: ``cryptography`` (and ``cffi``) and
``pydantic-core`` ship compiled code, built per CPU architecture and Python version. A plain
``pip install --target`` on a developer's x86_64 machine with Python 3.11 therefore installs binaries that
fail to import on a ``python3.12``/``arm64`` function. This command asks pip for the *function's*
platform instead: ``--platform manylinux..._{x86_64,aarch64} --implementation cp --python-version 3.X
--only-binary=:all:`` (never a source build, which would compile for this machine), then checks every
installed wheel tag and every shared object's ELF machine field, so a wrong binary fails the build here,
not the cold start in AWS.

Which manylinux tags a runtime accepts follows from its operating system: python3.10 and python3.11 run
on Amazon Linux 2 (glibc 2.26), python3.12 and python3.13 on Amazon Linux 2023 (glibc 2.34); see
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html. A ``manylinux_2_N`` wheel needs glibc
2.N or newer (PEP 600), so the platforms offered to pip are ``manylinux_2_17`` up to the runtime's glibc.

The library itself comes from a wheel: ``--from`` a ``.whl``, a project directory (built with
``pip wheel``), or a requirement; by default the source tree this command runs from (a clone), else the
installed version from the package index.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cognito_authz.cli.common import CliError

__all__ = [
    "ARCHITECTURES",
    "RUNTIMES",
    "PackageResult",
    "Target",
    "build_package",
    "check_binaries",
    "register",
]

#: Lambda's Python runtimes and the glibc of the Amazon Linux each runs on (minor version).
RUNTIMES: dict[str, int] = {"python3.10": 26, "python3.11": 26, "python3.12": 34, "python3.13": 34}
#: Lambda architecture -> the machine name in manylinux wheel tags and the ELF ``e_machine`` value.
ARCHITECTURES: dict[str, tuple[str, int]] = {"x86_64": ("x86_64", 0x3E), "arm64": ("aarch64", 0xB7)}
_OLDEST_MANYLINUX = 17  # manylinux2014 == manylinux_2_17; older wheels are accepted through its aliases


@dataclass(frozen=True, slots=True)
class Target:
    """The function's runtime and architecture, and what pip must be told to install for them."""

    runtime: str
    architecture: str

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise CliError(f"unsupported runtime {self.runtime!r}: choose one of {', '.join(RUNTIMES)}")
        if self.architecture not in ARCHITECTURES:
            raise CliError(
                f"unsupported architecture {self.architecture!r}: choose one of {', '.join(ARCHITECTURES)}"
            )

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def cp_tag(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    @property
    def machine(self) -> str:
        return ARCHITECTURES[self.architecture][0]

    @property
    def elf_machine(self) -> int:
        return ARCHITECTURES[self.architecture][1]

    def platforms(self) -> tuple[str, ...]:
        """The manylinux platform tags the runtime can load, newest first."""
        newest = RUNTIMES[self.runtime]
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(newest, _OLDEST_MANYLINUX - 1, -1)]
        # pip expands the legacy name to manylinux2010/manylinux1 on x86_64 (PEP 599 aliases).
        tags.append(f"manylinux2014_{self.machine}")
        return tuple(tags)

    def pip_platform_args(self) -> list[str]:
        args: list[str] = []
        for platform in self.platforms():
            args += ["--platform", platform]
        return [
            *args,
            "--implementation",
            "cp",
            "--python-version",
            self.python_version,
            "--only-binary=:all:",
        ]

    def accepts_tag(self, tag: str) -> bool:
        """Whether a wheel tag (``cp312-cp312-manylinux_2_17_aarch64``) loads on this runtime."""
        parts = tag.split("-")
        if len(parts) != 3:
            return False
        interpreter, abi, platform = parts
        if platform == "any":
            return abi == "none" and (interpreter.startswith("py3") or interpreter == self.cp_tag)
        if platform not in self.platforms() and not _legacy_alias(platform, self.machine):
            return False
        if abi == "abi3":
            return interpreter.startswith("cp3") and int(interpreter[3:]) <= int(self.cp_tag[3:])
        return interpreter == self.cp_tag and abi in (self.cp_tag, "none")


def _legacy_alias(platform: str, machine: str) -> bool:
    return machine == "x86_64" and platform in ("manylinux2010_x86_64", "manylinux1_x86_64")


@dataclass(frozen=True, slots=True)
class PackageResult:
    """What was built: where, for which target, how big."""

    output: Path
    target: Target
    layer: bool
    distributions: tuple[str, ...]
    unzipped_bytes: int
    zipped_bytes: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "runtime": self.target.runtime,
            "architecture": self.target.architecture,
            "layer": self.layer,
            "distributions": list(self.distributions),
            "unzipped_bytes": self.unzipped_bytes,
            "zipped_bytes": self.zipped_bytes,
        }


# --- the build ----------------------------------------------------------------------------------------


def _pip(args: Sequence[str], what: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        lines = [line for line in (completed.stderr or completed.stdout).splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit status {completed.returncode}"
        raise CliError(f"pip could not {what}: {detail}")


def _source_tree() -> Path | None:
    """The clone this command runs from, if any (the library is not yet on a package index)."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "cognito-authz"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def _installed_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cognito-authz")
    except PackageNotFoundError:
        return None


def _library_requirement(source: str | None, scratch: Path) -> str:
    """A pip requirement for cognito-authz itself: a wheel file path, or a name and version."""
    if source is None:
        tree = _source_tree()
        if tree is not None:
            source = str(tree)
        else:
            installed = _installed_version()
            return f"cognito-authz=={installed}" if installed else "cognito-authz"
    path = Path(source)
    if path.suffix == ".whl":
        if not path.is_file():
            raise CliError(f"no such wheel: {source}")
        return str(path.resolve())
    if path.is_dir():
        if not (path / "pyproject.toml").is_file():
            raise CliError(f"{source} is not a project directory (no pyproject.toml)")
        wheels = scratch / "wheel"
        # The library is pure Python: building its wheel here is platform-independent.
        _pip(["wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(path)], f"build {source}")
        built = sorted(wheels.glob("cognito_authz-*.whl"))
        if len(built) != 1:
            raise CliError(f"building {source} did not produce one cognito_authz wheel")
        return str(built[0])
    return source  # a requirement such as cognito-authz==0.1.0


def _with_extras(requirement: str, extras: Sequence[str]) -> str:
    if not extras:
        return requirement
    wanted = ",".join(sorted(set(extras)))
    if requirement.endswith(".whl"):
        return f"{requirement}[{wanted}]"
    name, sep, pin = requirement.partition("==")
    return f"{name}[{wanted}]{sep}{pin}"


def _wheel_tags(site: Path) -> dict[str, list[str]]:
    """Each installed distribution's wheel tags, from its ``*.dist-info/WHEEL``."""
    tags: dict[str, list[str]] = {}
    for wheel_file in sorted(site.glob("*.dist-info/WHEEL")):
        lines = wheel_file.read_text(encoding="utf-8").splitlines()
        tags[wheel_file.parent.name] = [
            line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")
        ]
    return tags


def _elf_machine(path: Path) -> int | None:
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def check_binaries(site: Path, target: Target) -> None:
    """Fail when anything installed under ``site`` would not load on ``target``.

    Two independent checks: every distribution's wheel tags are ones the runtime accepts, and every shared
    object is an ELF file for the target's CPU (a renamed or mis-tagged wheel cannot slip through).
    """
    wrong: list[str] = []
    for dist, tags in _wheel_tags(site).items():
        if not tags or not any(target.accepts_tag(tag) for tag in tags):
            wrong.append(f"{dist} ({', '.join(tags) or 'no tags'})")
    for shared in sorted(site.rglob("*.so*")):
        if not shared.is_file():
            continue
        machine = _elf_machine(shared)
        if machine != target.elf_machine:
            shown = "not ELF" if machine is None else f"ELF machine {machine:#x}"
            wrong.append(f"{shared.relative_to(site)} ({shown})")
    if wrong:
        raise CliError(
            f"not loadable on {target.runtime}/{target.architecture}: {'; '.join(wrong[:5])}"
            + (f" (+{len(wrong) - 5} more)" if len(wrong) > 5 else "")
        )


def _copy_into(root: Path, sources: Iterable[Path]) -> None:
    for source in sources:
        if not source.exists():
            raise CliError(f"no such file or directory: {source}")
        destination = root / source.name
        if destination.exists():
            raise CliError(f"{source.name} would overwrite an installed file or another --include")
        if source.is_dir():
            shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, destination)


def _check_jwks(path: Path) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CliError(f"cannot read JWKS {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        raise CliError(f"{path} is not a JWKS (a JSON object with a non-empty 'keys' list)")


def _check_policy(path: Path) -> None:
    from cognito_authz import Policy

    Policy.from_file(path)  # a PolicyError (one line, with the field) fails the build, not the cold start


def _tree_size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def _write_zip(root: Path, destination: Path) -> None:
    """A reproducible zip: sorted entries, fixed timestamps, files 0644 (Lambda needs them readable)."""
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_dir():
                continue
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def _check_output(output: Path, as_zip: bool, force: bool) -> None:
    """Refuse to overwrite without ``--force``, and to delete a folder that holds no earlier package."""
    if not output.exists():
        return
    if as_zip != output.is_file():
        raise CliError(f"{output} exists and is not a {'zip file' if as_zip else 'directory'}")
    occupied = as_zip or any(output.iterdir())
    if occupied and not force:
        raise CliError(f"{output} exists (use --force to replace it)")
    earlier_package = (output / "cognito_authz").is_dir() or (output / "python" / "cognito_authz").is_dir()
    if occupied and not as_zip and not earlier_package:
        # --force deletes the directory: only one holding a package we built, never a source folder.
        raise CliError(f"{output} is not empty and holds no earlier package: refusing to replace it")


def build_package(
    output: Path,
    target: Target,
    *,
    layer: bool = False,
    source: str | None = None,
    extras: Sequence[str] = (),
    policy: Path | None = None,
    jwks: Path | None = None,
    include: Sequence[Path] = (),
    force: bool = False,
) -> PackageResult:
    """Install cognito-authz and its dependencies for ``target`` into ``output`` (a directory or ``.zip``)."""
    if layer and (policy or jwks or include):
        raise CliError(
            "a layer holds libraries only: put the handler, policy and JWKS in the function package"
        )
    as_zip = output.suffix == ".zip"
    _check_output(output, as_zip, force)
    if policy is not None:
        _check_policy(policy)
        if policy.suffix in (".yaml", ".yml"):
            extras = [*extras, "yaml"]
    if jwks is not None:
        _check_jwks(jwks)
    with tempfile.TemporaryDirectory(prefix="cognito-authz-package-") as scratch_name:
        scratch = Path(scratch_name)
        root = scratch / "package"
        # Lambda adds /opt/python to sys.path for a layer's Python packages.
        site = root / "python" if layer else root
        requirement = _with_extras(_library_requirement(source, scratch), extras)
        _pip(
            [
                "install",
                "--quiet",
                "--no-compile",  # .pyc files compiled by this interpreter would be the wrong version
                "--target",
                str(site),
                *target.pip_platform_args(),
                requirement,
            ],
            f"install {requirement} for {target.runtime}/{target.architecture}",
        )
        shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts naming this machine's python
        check_binaries(site, target)
        _copy_into(root, [*include, *(p for p in (policy, jwks) if p is not None)])
        distributions = tuple(sorted(name.removesuffix(".dist-info") for name in _wheel_tags(site)))
        unzipped = _tree_size(root)
        if output.exists():
            if output.is_dir():
                shutil.rmtree(output)
            else:
                output.unlink()
        output.parent.mkdir(parents=True, exist_ok=True)
        zipped: int | None = None
        if as_zip:
            _write_zip(root, output)
            zipped = output.stat().st_size
        else:
            shutil.copytree(root, output)
    return PackageResult(output, target, layer, distributions, unzipped, zipped)


# --- the command --------------------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``package`` to the command parser."""
    command = commands.add_parser(
        "package",
        help="build a Lambda deployment package or layer for a runtime and architecture",
        description="Install cognito-authz and its dependencies as binary wheels for the function's "
        "runtime and architecture (pip --platform/--python-version/--only-binary=:all:), check every "
        "binary, add your handler, policy and JWKS, and write a directory or a zip. Needs pip and the "
        "package index.",
    )
    command.add_argument("output", type=Path, help="a directory, or a file ending in .zip")
    command.add_argument(
        "--runtime", default="python3.12", choices=tuple(RUNTIMES), help="default python3.12"
    )
    command.add_argument(
        "--arch", default="x86_64", choices=tuple(ARCHITECTURES), help="Lambda architecture (default x86_64)"
    )
    command.add_argument(
        "--layer", action="store_true", help="a Lambda layer: the libraries under python/, no function code"
    )
    command.add_argument("--policy", type=Path, help="the policy file (checked, then copied to the root)")
    command.add_argument("--jwks", type=Path, help="a JWKS to bundle (load it with verifier.load_jwks)")
    command.add_argument(
        "--include",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="a file or directory to copy to the root (your handler module); repeatable",
    )
    command.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME",
        help="a cognito-authz extra to install (yaml is added for a YAML policy); repeatable",
    )
    command.add_argument(
        "--from",
        dest="source",
        metavar="WHEEL|DIR|REQUIREMENT",
        help="where cognito-authz comes from (default: the source tree this runs from, else the index)",
    )
    command.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")
    command.add_argument("--json", action="store_true", help="machine-readable summary")
    command.set_defaults(handler=run_package)


def run_package(args: argparse.Namespace) -> int:
    result = build_package(
        args.output,
        Target(args.runtime, args.arch),
        layer=args.layer,
        source=args.source,
        extras=args.extra,
        policy=args.policy,
        jwks=args.jwks,
        include=args.include,
        force=args.force,
    )
    if args.json:
        from cognito_authz.cli.common import print_json

        print_json(result.to_json())
        return 0
    kind = "layer" if result.layer else "function package"
    print(f"{kind} for {result.target.runtime}/{result.target.architecture}: {result.output}")
    print(f"  {len(result.distributions)} distributions: {', '.join(result.distributions)}")
    size = f"  {result.unzipped_bytes / 1e6:.1f} MB unzipped (Lambda's limit: 250 MB)"
    if result.zipped_bytes is not None:
        size += f", {result.zipped_bytes / 1e6:.1f} MB zipped"
    print(size)
    print(f"  every binary checked: manylinux {result.target.machine}, {result.target.cp_tag} or abi3")
    if not result.layer:
        print("  next: set the function's handler to <module>.handler and upload the zip (docs/packaging.md)")
    return 0
