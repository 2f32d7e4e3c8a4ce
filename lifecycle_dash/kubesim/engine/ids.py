"""Names and identifiers the way the cluster's components generate them, from a seeded RNG."""

from __future__ import annotations

import hashlib
import random

# apimachinery's SimpleNameGenerator / rand.SafeEncodeString alphabet.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def suffix(self, length: int = 5) -> str:
        return "".join(self.rng.choice(SAFE_ALPHABET) for _ in range(length))

    def container_id(self) -> str:
        return f"containerd://{self.rng.getrandbits(256):064x}"

    def uid(self) -> str:
        """A UUID for objects kept internal (ReplicaSets, Jobs, Services)."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def template_hash(text: str) -> str:
    """A pod-template-hash-like label value: stable for the same template text."""
    digest = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    out = []
    for _ in range(10):
        digest, rem = divmod(digest, len(SAFE_ALPHABET))
        out.append(SAFE_ALPHABET[rem])
    return "".join(out)


def image_id(image: str) -> str:
    ref = normalize_image(image)
    repo = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
    return f"{repo}@sha256:{hashlib.sha256(ref.encode()).hexdigest()}"


def normalize_image(image: str) -> str:
    """What the runtime reports in ``status.containerStatuses[].image``."""
    name = image
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = f"docker.io/{name}" if rest else f"docker.io/library/{name}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        name += ":latest"
    return name


def image_size(image: str) -> int:
    return 5_000_000 + int(hashlib.sha256(image.encode()).hexdigest()[:6], 16) * 40
