"""WebSocket consumers. Anonymous connections are refused; frames are HTML fragments for htmx."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from lifecycle_dash.live.groups import all_pods_group


class DashboardConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        await self.channel_layer.group_add(all_pods_group(), self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(all_pods_group(), self.channel_name)

    async def pod_changed(self, event: dict[str, Any]) -> None:
        html = event.get("html")
        if isinstance(html, str):
            await self.send(text_data=html)
