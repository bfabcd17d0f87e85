"""Prepares a rendered overlay for `podman kube play` (Debian 12's podman 4.3), which runs
only part of Kubernetes:

    deploy/k8s/render local | python -m deploy.k8s.play INFRA.yaml PLATFORM.yaml

Writes the kinds kube play runs (Deployments, ConfigMaps): Kafka and PostgreSQL (the
Deployments that are not services) to INFRA.yaml, played and waited for first (kube play
has no order), the rest to PLATFORM.yaml; creates each Secret
as a podman secret (kube play 4.3 stores a Secret document as YAML and then fails to read
it back; a podman secret holding the Secret's `data` as JSON is what its secretKeyRef reads),
and prints the kinds it does not run (Services, disruption budgets, network policies, the
migration Job, the Ingress): those are still checked against their schemas by
deploy/k8s/validate.py, and the services apply their migrations at start.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

import yaml

PLAYED = {"Deployment", "ConfigMap"}


def main(infra_out: str, platform_out: str) -> int:
    documents = [d for d in yaml.safe_load_all(sys.stdin) if d]
    played = [d for d in documents if d["kind"] in PLAYED]
    infra = [d for d in played if d["kind"] == "Deployment" and d["metadata"].get(
        "labels", {}).get("app.kubernetes.io/component") != "service"]
    for out, part in ((infra_out, infra), (platform_out, [d for d in played if d not in infra])):
        with open(out, "w") as file:
            yaml.safe_dump_all(part, file, sort_keys=False)
    for secret in (d for d in documents if d["kind"] == "Secret"):
        name = secret["metadata"]["name"]
        subprocess.run(["podman", "secret", "rm", name], capture_output=True)
        with tempfile.NamedTemporaryFile("w", suffix=".json") as data:
            json.dump(secret.get("data", {}), data)
            data.flush()
            subprocess.run(["podman", "secret", "create", name, data.name], check=True,
                           capture_output=True)
    secrets = sorted(d["metadata"]["name"] for d in documents if d["kind"] == "Secret")
    others = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in documents
                    if d["kind"] not in PLAYED | {"Secret"})
    print(f"kube play runs {len(played)} resources; secrets as podman secrets: "
          f"{', '.join(secrets)}; not run by kube play: {', '.join(others)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
