"""Every Kubernetes manifest of every overlay (deploy/k8s) matches its schema: Kubernetes'
own for its kinds, the operators' published CRDs for custom resources."""

from deploy.k8s.validate import OVERLAYS, problems, validate


def test_every_overlay_renders_and_every_resource_matches_its_schema():
    assert OVERLAYS == ["local", "production"]
    assert validate(OVERLAYS) == []


def test_a_misspelt_field_fails_for_kubernetes_kinds_and_custom_resources():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                           "template": {"metadata": {"labels": {"a": "b"}},
                                        "spec": {"containers": [{"name": "x", "imag": "y"}]}}}}
    topic = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",
             "metadata": {"name": "t"}, "spec": {"partitions": "12", "replica": 3}}
    assert any("imag" in p for p in problems(deployment))
    assert len(problems(topic)) == 2
    unknown = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}}
    assert problems(unknown) == ["no schema schemas/example.com/thing_v1.json"]
