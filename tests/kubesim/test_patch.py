from __future__ import annotations

from copy import deepcopy

from lifecycle_dash.kubesim.patch import merge_patch, strategic_merge_patch

POD = {
    "metadata": {"labels": {"app": "web", "tier": "front"}, "finalizers": ["a", "b"]},
    "spec": {
        "containers": [
            {"name": "app", "image": "web:1", "ports": [{"containerPort": 80}]},
            {"name": "proxy", "image": "envoy:1"},
        ],
        "tolerations": [{"key": "x", "operator": "Exists"}],
    },
}


def copy():
    return deepcopy(POD)


def test_containers_merge_by_name_and_keep_unmentioned_fields():
    patched = strategic_merge_patch(
        copy(),
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "proxy"}, {"name": "app"}],
                "containers": [{"name": "app", "image": "web:2"}],
            }
        },
    )
    assert patched["spec"]["containers"] == [
        {"name": "proxy", "image": "envoy:1"},
        {"name": "app", "image": "web:2", "ports": [{"containerPort": 80}]},
    ]


def test_delete_directives_and_null_remove():
    patched = strategic_merge_patch(
        copy(),
        {
            "metadata": {
                "labels": {"tier": None},
                "$deleteFromPrimitiveList/finalizers": ["a"],
            },
            "spec": {"containers": [{"name": "proxy", "$patch": "delete"}]},
        },
    )
    assert patched["metadata"] == {"labels": {"app": "web"}, "finalizers": ["b"]}
    assert [c["name"] for c in patched["spec"]["containers"]] == ["app"]


def test_lists_without_a_merge_key_are_replaced():
    patched = strategic_merge_patch(copy(), {"spec": {"tolerations": []}})
    assert patched["spec"]["tolerations"] == []


def test_json_merge_patch_replaces_lists():
    patched = merge_patch(copy(), {"spec": {"containers": [{"name": "only"}]}})
    assert patched["spec"]["containers"] == [{"name": "only"}]
