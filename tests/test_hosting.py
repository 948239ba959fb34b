"""The hosting manifests agree with the code: README.md's Hugging Face Space front matter, the
Deta Space `Spacefile`, requirements.txt and app.py.

A Space builds from these files alone, so a mismatch (a Gradio version that differs from the
pinned one, an app that ignores the platform's port, a dependency nobody installs) only shows
up after a push. These tests catch it here.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SPACEFILE = ROOT / "Spacefile"
REQUIREMENTS = ROOT / "requirements.txt"
APP = ROOT / "app.py"
CI_SCRIPT = ROOT / ".ci" / "run"
# Files whose imports the Space must install: the app and everything it imports from the repo.
RUNTIME_SOURCES = [APP, *sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "mnist_core").glob("*.py"))]
LOCAL_MODULES = {"app", "ui", "mnist_core"}
HF_COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
HF_MAX_SHORT_DESCRIPTION = 60
HF_MAX_FILE_BYTES = 10 * 1024 * 1024  # larger files need Git LFS on the Hugging Face Hub
DETA_MAX_APP_NAME = 12
DETA_MICRO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
ENV_ASSIGNMENT = re.compile(r"^([A-Z_][A-Z0-9_]*)=(.*)$")


# --- Reading the files -----------------------------------------------------------------


def front_matter() -> dict[str, Any]:
    """The YAML block between the two `---` lines that open README.md."""
    if not README.exists():
        pytest.fail("README.md is missing: a Hugging Face Space is configured by its front matter")
    text = README.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        pytest.fail("README.md must start with a '---' line: the Space's YAML front matter")
    block, end, _ = text[len("---\n"):].partition("\n---\n")
    if not end:
        pytest.fail("README.md's front matter has no closing '---' line")
    config = yaml.safe_load(block)
    assert isinstance(config, dict), f"README.md's front matter is not a YAML mapping: {config!r}"
    return config


def spacefile() -> dict[str, Any]:
    assert SPACEFILE.exists(), "Spacefile is missing"
    config = yaml.safe_load(SPACEFILE.read_text(encoding="utf-8"))
    assert isinstance(config, dict), f"Spacefile is not a YAML mapping: {config!r}"
    return config


def the_micro() -> dict[str, Any]:
    micros = spacefile().get("micros")
    assert isinstance(micros, list) and len(micros) == 1, f"the Spacefile must declare one micro, not {micros!r}"
    assert isinstance(micros[0], dict)
    return micros[0]


def pins() -> dict[str, str]:
    """requirements.txt as {canonical name: version}; every line must be `name==version`."""
    pinned: dict[str, str] = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", \
            f"requirements.txt must pin exactly (name==version): {line!r}"
        pinned[canonicalize_name(requirement.name)] = specifiers[0].version
    return pinned


def ci_python_version() -> str:
    """The Python version CI builds its venv with (`python3.X -m venv` in .ci/run)."""
    found = re.search(r"\bpython(3\.\d+)\s+-m\s+venv\b", CI_SCRIPT.read_text(encoding="utf-8"))
    assert found, ".ci/run does not say which python3.X makes its venv"
    return found.group(1)


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a source file imports (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def installed_closure(roots: list[str]) -> set[str]:
    """The distributions `roots` install: themselves and their dependencies, recursively
    (extras left out), as the installed metadata records them."""
    seen: set[str] = set()
    todo = [canonicalize_name(name) for name in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # reported by the test that checks every pin is installed
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def launch_calls(tree: ast.Module) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == "launch"]


# --- README.md: the Hugging Face Space -----------------------------------------------------


def test_readme_front_matter_makes_a_gradio_space_of_app_py() -> None:
    config = front_matter()

    assert config.get("sdk") == "gradio"
    assert config.get("app_file") == "app.py" and APP.exists()
    for key in ("title", "emoji", "short_description", "license"):
        assert isinstance(config.get(key), str) and config[key].strip(), f"front matter needs a {key}"
    assert config["license"] == "mit"
    assert len(config["short_description"]) <= HF_MAX_SHORT_DESCRIPTION, \
        f"short_description has {len(config['short_description'])} characters; the Hub allows 60"
    assert config.get("colorFrom") in HF_COLOURS and config.get("colorTo") in HF_COLOURS, \
        f"colorFrom/colorTo must be among {sorted(HF_COLOURS)}"
    assert isinstance(config.get("pinned", False), bool)


def test_space_runs_the_pinned_gradio() -> None:
    """The Space installs gradio==sdk_version itself; another pin in requirements.txt would fight it."""
    config = front_matter()
    gradio_pin = pins().get("gradio")

    assert gradio_pin, "requirements.txt must pin gradio"
    assert str(config.get("sdk_version")) == gradio_pin, \
        f"sdk_version {config.get('sdk_version')!r} differs from requirements.txt's gradio=={gradio_pin}"
    assert importlib.metadata.version("gradio") == gradio_pin, "the installed gradio is not the pinned one"


def test_space_runs_the_python_ci_tests_with() -> None:
    version = front_matter().get("python_version")

    assert isinstance(version, str), f"python_version must be a quoted string (3.10 would read as 3.1): {version!r}"
    assert version == ci_python_version()


def test_readme_says_where_the_app_is_hosted() -> None:
    text = README.read_text(encoding="utf-8") if README.exists() else ""

    assert "Hugging Face" in text and "Spacefile" in text and "Deta Space" in text, \
        "README.md should say that the Hugging Face Space is the supported host and why the Spacefile stays"


# --- requirements.txt and app.py ---------------------------------------------------------


def test_requirements_pin_exactly_what_is_installed() -> None:
    for name, version in pins().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{name}=={version} is pinned but not installed")
        assert installed == version, f"{name}: requirements.txt pins {version}, {installed} is installed"


def test_requirements_install_every_module_the_app_imports() -> None:
    """Each third-party module app.py (and what it imports from the repo) needs comes from a pinned
    distribution or one of their dependencies: what the Space's `pip install -r` gives it."""
    provided = installed_closure(list(pins()))
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for source in RUNTIME_SOURCES:
        for module in sorted(imported_modules(source) - LOCAL_MODULES - set(sys.stdlib_module_names)):
            owners = {canonicalize_name(d) for d in distributions.get(module, [])}
            if not owners & provided:
                missing.append(f"{source.relative_to(ROOT)} imports {module} ({', '.join(owners) or 'not installed'})")

    assert not missing, "not installed by requirements.txt:\n" + "\n".join(missing)


def test_app_serves_on_the_address_and_port_the_host_gives() -> None:
    """`python app.py` launches `demo`, and leaves its address to GRADIO_SERVER_NAME/PORT (a Space
    sets them): no server_name or server_port written in the code."""
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    main_blocks = [node for node in tree.body if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)]
    calls = launch_calls(tree)

    assert main_blocks, "app.py needs an `if __name__ == \"__main__\":` block that launches the app"
    assert any(call in launch_calls(block) for block in main_blocks for call in calls), \
        "demo.launch() must run under `if __name__ == \"__main__\":`"
    for call in calls:
        assert ast.unparse(call.func.value) == "demo", "the Space's Gradio SDK looks for `demo`"
        keywords = {k.arg for k in call.keywords}
        assert not keywords & {"server_name", "server_port", "share"}, \
            f"launch() must not fix {sorted(keywords & {'server_name', 'server_port', 'share'})}"


def test_app_sets_the_queue_limits_on_purpose() -> None:
    """Gradio's defaults are an unbounded queue; ours is bounded and its concurrency chosen."""
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    queue_calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                   and isinstance(node.func, ast.Attribute) and node.func.attr == "queue"
                   and ast.unparse(node.func.value) == "demo"]

    assert len(queue_calls) == 1, "app.py should call demo.queue(...) once"
    keywords = {k.arg: k.value for k in queue_calls[0].keywords}
    assert {"max_size", "default_concurrency_limit"} <= set(keywords)
    max_size = ast.literal_eval(keywords["max_size"])
    assert isinstance(max_size, int) and max_size >= 20, "the queue must hold the 20 users the load test brings"


def test_no_file_needs_git_lfs() -> None:
    """The Hub refuses files over 10 MB outside Git LFS: no tracked or addable file is that large."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    large = [name for name in listed if name and (ROOT / name).is_file()
             and (ROOT / name).stat().st_size > HF_MAX_FILE_BYTES]

    assert not large, f"files over 10 MB (would need Git LFS on the Hub): {large}"


# --- Spacefile: the Deta Space design ---------------------------------------------------------


def test_spacefile_is_a_version_0_manifest() -> None:
    config = spacefile()

    assert config.get("v") == 0
    assert set(config) <= {"v", "icon", "app_name", "micros"}, f"unknown Spacefile keys: {sorted(config)}"
    assert len(str(config.get("app_name", ""))) <= DETA_MAX_APP_NAME


def test_spacefile_runs_one_python_micro_from_the_repository_root() -> None:
    micro = the_micro()

    assert DETA_MICRO_NAME.match(str(micro.get("name", ""))), f"invalid micro name {micro.get('name')!r}"
    assert str(micro.get("engine", "")).startswith("python3.")
    assert micro.get("primary") is True
    source = (ROOT / str(micro.get("src", ""))).resolve()
    assert source == ROOT, "the micro's src must be the folder that holds app.py"
    assert (source / "requirements.txt").exists(), "a Python micro installs its src's requirements.txt"


def test_spacefile_runs_app_py_on_the_platforms_port() -> None:
    """`run` starts `python app.py` with GRADIO_SERVER_PORT set from Space's $PORT, on every interface."""
    run = shlex.split(str(the_micro().get("run", "")))
    assert run[:2] == ["sh", "-c"] and len(run) == 3, f"run should be one `sh -c '...'` command: {run}"
    words = shlex.split(run[2])
    env: dict[str, str] = {}
    while words and ENV_ASSIGNMENT.match(words[0]):
        key, value = ENV_ASSIGNMENT.match(words.pop(0)).groups()  # type: ignore[union-attr]
        env[key] = value
    if words[:1] == ["exec"]:
        words.pop(0)

    assert words == ["python", "app.py"]
    assert env.get("GRADIO_SERVER_PORT") == "$PORT"
    assert env.get("GRADIO_SERVER_NAME") == "0.0.0.0"


def test_spacefile_keeps_user_data_where_the_app_looks_and_space_can_write() -> None:
    from mnist_core.registry import USER_DATA_ENV

    presets = the_micro().get("presets", {}).get("env", [])
    defaults = {entry["name"]: str(entry.get("default", "")) for entry in presets}

    assert USER_DATA_ENV in defaults, f"the Spacefile should set {USER_DATA_ENV}"
    assert defaults[USER_DATA_ENV].startswith("/tmp/"), "only /tmp is writable on a Space micro"
