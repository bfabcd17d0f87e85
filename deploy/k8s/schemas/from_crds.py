"""Turns CustomResourceDefinitions into the JSON schemas deploy/k8s/validate.py checks custom
resources against, one file per kind and version: <group>/<kind>_<version>.json (the layout
kubeconform reads too). The CRDs are the operators' own published files:

    python deploy/k8s/schemas/from_crds.py CRD.yaml ...    # writes beside this file

Made from (repository, path, commit):
  kedacore/keda config/crd/bases/keda.sh_scaledobjects.yaml 8b4f083c (v2.20.1)
  strimzi/strimzi-kafka-operator packaging/install/cluster-operator/043-Crd-kafkatopic.yaml
    8541da1e
  cloudnative-pg/cloudnative-pg config/crd/bases/postgresql.cnpg.io_clusters.yaml a95a534d
  external-secrets/external-secrets config/crds/bases/external-secrets.io_externalsecrets.yaml
    cc5bfbc2

Like kubeconform's openapi2jsonschema, an object that lists its properties admits no others
(unless the CRD says x-kubernetes-preserve-unknown-fields), so a misspelt field fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent


def strict(schema: object) -> object:
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def convert(crd: dict) -> dict[Path, dict]:
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
    schemas = {}
    for version in crd["spec"]["versions"]:
        schema = strict(version["schema"]["openAPIV3Schema"])
        schema["properties"]["apiVersion"] = {"type": "string",
                                              "enum": [f"{group}/{version['name']}"]}
        schema["properties"]["kind"] = {"type": "string",
                                        "enum": [crd["spec"]["names"]["kind"]]}
        schemas[Path(group) / f"{kind}_{version['name']}.json"] = schema
    return schemas


def main(paths: list[str]) -> None:
    for path in paths:
        for document in yaml.safe_load_all(Path(path).read_text()):
            if document and document.get("kind") == "CustomResourceDefinition":
                for name, schema in convert(document).items():
                    (HERE / name).parent.mkdir(exist_ok=True)
                    (HERE / name).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
                    print(name)


if __name__ == "__main__":
    main(sys.argv[1:])
