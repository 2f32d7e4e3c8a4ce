"""PATCH bodies: JSON merge patch (RFC 7386) and the part of strategic merge patch kubectl uses.

``kubectl apply``/``label``/``annotate``/``edit`` send strategic merge patches. Supported: maps
merge recursively and ``null`` deletes; lists whose field has a patch merge key in the
Kubernetes types (containers by ``name``, ports by ``containerPort``, conditions by ``type`` ...)
merge item by item; ``$setElementOrder/<field>`` orders such a list; ``$patch: delete`` removes
an item, ``$patch: replace`` replaces a map; ``$deleteFromPrimitiveList/<field>`` removes values.
Any other list is replaced and other directives are ignored. Not supported: ``$retainKeys``
semantics, server-side apply.
"""

from __future__ import annotations

from typing import Any

# Patch merge keys of list fields in the pod, event and endpointslice types.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "conditions": "type",
    "readinessGates": "conditionType",
    "hostAliases": "ip",
    "ownerReferences": "uid",
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if not k.startswith("$")}
    if not isinstance(target, dict):
        target = {}
    orders: dict[str, list[Any]] = {}
    removals: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            orders[key.removeprefix("$setElementOrder/")] = value or []
        elif key.startswith("$deleteFromPrimitiveList/"):
            removals[key.removeprefix("$deleteFromPrimitiveList/")] = value or []
        elif key.startswith("$"):
            continue
        elif value is None:
            target.pop(key, None)
        elif isinstance(value, list) and key in MERGE_KEYS:
            target[key] = _merge_list(target.get(key), value, MERGE_KEYS[key])
        else:
            target[key] = strategic_merge_patch(target.get(key), value)
    for key, values in removals.items():
        if isinstance(target.get(key), list):
            target[key] = [item for item in target[key] if item not in values]
    for key, order in orders.items():
        merge_key = MERGE_KEYS.get(key)
        if merge_key is not None and isinstance(target.get(key), list):
            target[key] = _ordered(target[key], order, merge_key)
    return target


def _merge_list(current: Any, patch: list[Any], merge_key: str) -> list[Any]:
    items = list(current) if isinstance(current, list) else []
    for entry in patch:
        if not isinstance(entry, dict) or merge_key not in entry:
            return [e for e in patch if not (isinstance(e, dict) and e.get("$patch"))]
        index = next(
            (
                i
                for i, item in enumerate(items)
                if isinstance(item, dict) and item.get(merge_key) == entry[merge_key]
            ),
            None,
        )
        if entry.get("$patch") == "delete":
            if index is not None:
                del items[index]
        elif index is None:
            items.append(strategic_merge_patch({}, entry))
        else:
            items[index] = strategic_merge_patch(items[index], entry)
    return items


def _ordered(items: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    rank = {
        entry.get(merge_key): position
        for position, entry in enumerate(order)
        if isinstance(entry, dict)
    }
    return sorted(
        items,
        key=lambda item: (
            rank.get(item.get(merge_key), len(rank)) if isinstance(item, dict) else len(rank)
        ),
    )
