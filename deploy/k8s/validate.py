"""Checks every manifest of every overlay against its schema:

    python -m deploy.k8s.validate          # renders each overlay with deploy/k8s/render

Each overlay is checked alone and with each optional component (OPTIONAL: what a bank
switches on, e.g. components/fineract) added on top.

Kubernetes' own kinds against Kubernetes' schemas (kubernetes-validate, strict: an unknown
field fails), for the cluster version below; custom resources (Strimzi KafkaTopic,
CloudNativePG Cluster, KEDA ScaledObject, External Secrets ExternalSecret) against the
schemas of the operators' published CRDs, kept in deploy/k8s/schemas (from_crds.py). A kind
with no schema fails: nothing passes unchecked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

HERE = Path(__file__).parent
OVERLAYS = sorted(p.name for p in (HERE / "overlays").iterdir() if p.is_dir())
#: Components an overlay may add (components/operators is always in production already).
OPTIONAL = ["fineract"]
KUBERNETES_VERSION = "1.32.0"


def prepare_local() -> None:
    """What the local overlay reads and git does not hold: the database Secret's env file
    (from its example when missing) and the development key pair's public half."""
    from runtime.auth import dev_keys

    env = HERE / "overlays" / "local" / "db.env"
    if not env.exists():
        env.write_text((HERE / "overlays" / "local" / "db.env.example").read_text())
    dev_keys()


def render(overlay: str, component: str | None = None) -> list[dict]:
    """The overlay's manifests, with `component` added on top if given."""
    if overlay == "local":
        prepare_local()
    if component is None:
        return _build(overlay)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.relpath(HERE / d, tmp) for d in ("overlays/" + overlay,
                                                          "components/" + component)]
        (Path(tmp) / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": [paths[0]], "components": [paths[1]]}))
        return _build(tmp)


def _build(target: str) -> list[dict]:
    out = subprocess.run([str(HERE / "render"), target], check=True, capture_output=True,
                         text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def problems(resource: dict) -> list[str]:
    group = resource["apiVersion"].rpartition("/")[0]
    if "." in group and not group.endswith(".k8s.io"):  # a custom resource
        version = resource["apiVersion"].rpartition("/")[2]
        path = HERE / "schemas" / group / f"{resource['kind'].lower()}_{version}.json"
        if not path.exists():
            return [f"no schema {path.relative_to(HERE)}"]
        validator = jsonschema.Draft7Validator(json.loads(path.read_text()))
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(resource)]
    try:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(map(str, error.path))}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [str(error)]
    return []


def validate(overlays: list[str]) -> list[str]:
    failures = []
    for overlay in overlays:
        for component in [None, *OPTIONAL]:
            label = overlay if component is None else f"{overlay}+{component}"
            resources = render(overlay, component)
            for resource in resources:
                name = f"{label}: {resource['kind']}/{resource['metadata']['name']}"
                failures += [f"{name}: {problem}" for problem in problems(resource)]
            print(f"{label}: {len(resources)} resources checked", file=sys.stderr)
    return failures


def main(argv: list[str]) -> int:
    failures = validate(argv or OVERLAYS)
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
