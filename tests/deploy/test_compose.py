"""docker-compose.yml stays valid without a Docker engine: parsed, and checked against the code.

Every XF_* variable a service is given must be a setting its code reads, the settings must
validate with the values compose gives, every command must name an importable module and a role
the service has, migrations run before anything else, secrets are never literals, and the demo
tokens of embedded mode are neither configured nor shipped.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TEXT = (REPO / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(TEXT)
SERVICES = COMPOSE["services"]
APPS = {name: spec for name, spec in SERVICES.items() if spec.get("image") == "xinfang/service:latest"}
PLATFORM = ("intake", "routing", "supervision", "reporting")
SECRETS = ("POSTGRES_PASSWORD", "XF_INTAKE_SEAL_KEY", "XF_ROUTING_SEAL_KEY", "XF_SUPERVISION_SEAL_KEY", "XF_JWT_ISSUER",
           "XF_JWT_AUDIENCE", "XF_JWT_JWKS_URL")


def settings_class(service: str):
    return importlib.import_module(f"{service}.config").Settings


def substituted(value: str) -> str:
    """What compose would pass, with a plausible value for each required variable."""
    return re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: {
        "XF_INTAKE_SEAL_KEY": "A" * 43 + "=", "XF_ROUTING_SEAL_KEY": "B" * 43 + "=",
        "XF_SUPERVISION_SEAL_KEY": "C" * 43 + "=",
        "XF_JWT_JWKS_URL": "https://idp.example/jwks.json"}.get(m.group(1), "x"), value)


def test_infrastructure_is_there_with_healthchecks():
    for name in ("kafka", "postgres", "otel-collector", "jaeger"):
        assert name in SERVICES and "healthcheck" in SERVICES[name], name


def test_every_service_has_every_role():
    for svc in PLATFORM:
        for role in ("migrate", "api", "relay", "consumer"):
            assert f"{svc}-{role}" in APPS, f"{svc}-{role}"


@pytest.mark.parametrize("name", sorted(APPS))
def test_service_environment_matches_and_validates_its_settings(name, monkeypatch):
    env = APPS[name]["environment"]
    service = env["XF_SERVICE"]
    assert name.startswith(service)
    cls = settings_class(service)
    known = {f"XF_{f.upper()}" for f in cls.model_fields}
    unknown = {k for k in env if k.startswith("XF_")} - known
    assert not unknown, f"{name}: variables no setting reads: {unknown}"
    for k in [k for k in __import__("os").environ if k.startswith("XF_")]:
        monkeypatch.delenv(k)
    for k, v in env.items():  # as the container sees them: environment variables, parsed by the settings
        if k.startswith("XF_"):
            monkeypatch.setenv(k, substituted(str(v)))
    settings = cls()  # raises if anything required is missing or the auth is incomplete
    assert settings.auth_mode == "jwt" and settings.demo_tokens_path is None


@pytest.mark.parametrize("name", sorted(APPS))
def test_commands_name_a_service_and_one_of_its_roles_and_migrations_come_first(name):
    spec = APPS[name]
    cmd = spec["command"]
    service, role = cmd[cmd.index("-m") + 1], cmd[-1]
    assert importlib.util.find_spec(f"{service}.__main__") is not None, service
    assert name == f"{service}-{role}"
    assert spec["build"]["dockerfile"] == "deploy/docker/service.Dockerfile"
    if role == "migrate":
        assert spec["restart"] == "no"
    else:
        assert spec["depends_on"][f"{service}-migrate"] == {"condition": "service_completed_successfully"}
        assert all(c["condition"] == "service_healthy" for n, c in spec["depends_on"].items() if not n.endswith("migrate"))


def test_api_ports_are_distinct():
    ports = [p for s in APPS.values() for p in s.get("ports", [])]
    assert len(ports) == len(set(h.split(":")[0] for h in ports)) == 4


def test_secrets_are_never_literals_and_demo_tokens_are_never_configured_or_shipped():
    for var in SECRETS:
        assert "${" + var + ":?" in TEXT, var
    for var in ("POSTGRES_PASSWORD", "XF_SEAL_KEY"):
        for value in re.findall(rf"^\s*{var}:\s*(.*)$", TEXT, flags=re.M):
            assert value.startswith("${"), f"{var} is given as a literal"
    assert "demo" not in TEXT.lower()
    ignored = (REPO / ".dockerignore").read_text().split()
    assert "deploy/seed/demo-tokens.yaml" in ignored


def test_dockerfile_copies_exist_and_collector_pipelines_are_defined():
    for line in (REPO / "deploy/docker/service.Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (REPO / src).exists(), src
    col = yaml.safe_load((REPO / "deploy/otel/collector.yaml").read_text())
    for p in col["service"]["pipelines"].values():
        assert set(p["receivers"]) <= set(col["receivers"])
        assert set(p["exporters"]) <= set(col["exporters"])
        assert set(p.get("processors", [])) <= set(col["processors"])


def test_docker_compose_config_where_the_plugin_exists():
    """`docker compose config` where the compose plugin is installed (not on this machine)."""
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        return  # the YAML checks above are the whole check here
    r = subprocess.run([docker, "compose", "config", "-q"], cwd=REPO, capture_output=True, text=True,
                       env={**{v: "x" for v in SECRETS}, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
