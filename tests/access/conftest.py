from __future__ import annotations

import pytest
from django.test import Client

from tests.access.world import Personas, World, build_world, make_personas


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def personas(world: World) -> Personas:
    return make_personas(world)


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


@pytest.fixture
def admin(personas: Personas) -> Client:
    return _client(personas.admin)


@pytest.fixture
def member(personas: Personas) -> Client:
    return _client(personas.member)


@pytest.fixture
def outsider(personas: Personas) -> Client:
    return _client(personas.outsider)
