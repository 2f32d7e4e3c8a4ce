from __future__ import annotations

import pytest
from kubernetes_validate.utils import latest_version, schema_contents

from lifecycle_dash.kubesim import validation
from lifecycle_dash.kubesim.errors import ApiError
from tests.kubesim.simulator import make_pod


def _schema_properties(definition: str) -> frozenset[str]:
    version = latest_version()
    definitions = schema_contents(
        f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version
    )["$defs"]
    return frozenset(definitions[definition]["properties"])


@pytest.mark.parametrize(
    ("fields", "definition"),
    [
        (validation.POD_FIELDS, "io.k8s.api.core.v1.Pod"),
        (validation.OBJECT_META_FIELDS, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        (validation.POD_SPEC_FIELDS, "io.k8s.api.core.v1.PodSpec"),
        (validation.CONTAINER_FIELDS, "io.k8s.api.core.v1.Container"),
    ],
)
def test_strict_field_lists_match_the_kubernetes_schema(fields, definition):
    assert fields == _schema_properties(definition)


def test_unknown_fields_are_named_with_their_path():
    pod = make_pod("web-1")
    pod["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    pod["spec"]["restartpolicy"] = "Never"
    pod["metadata"]["label"] = {"a": "b"}
    assert validation.unknown_pod_fields(pod) == [
        "metadata.label",
        "spec.restartpolicy",
        "spec.containers[0].imagePullPolcy",
    ]
    with pytest.raises(ApiError) as caught:
        validation.check_strict_fields("pods", pod)
    assert caught.value.code == 400
    assert 'strict decoding error: unknown field "metadata.label"' in caught.value.message


def test_invalid_pods_list_every_cause():
    pod = make_pod("Web_1")
    pod["spec"]["containers"].append({"name": "app"})
    with pytest.raises(ApiError) as caught:
        validation.validate("pods", pod)
    details = caught.value.details
    assert details is not None
    fields = [cause["field"] for cause in details["causes"]]
    assert fields == ["metadata.name", "spec.containers[1].name", "spec.containers[1].image"]
    assert caught.value.code == 422
