"""One app instance (API and worker) that fires identical draft requests at a signal.

``python -m tests.adapters.redis.requester USER_ID ORG_ID COUNT TOPIC`` builds the app from
``GHOSTART_*`` (with the fault generator installed), starts its worker, prints ``ready``, waits
for a line on its standard input, sends COUNT identical requests at once, waits for every post to
leave ``requested``/``generating`` and prints one JSON line: each post's status, generation id,
whether it came from the cache, and its body.
"""

from __future__ import annotations

import asyncio
import json
import sys
from uuid import UUID

from ghostart.app import Ghostart
from ghostart.models import Principal, Role
from ghostart.plugins import PluginManager
from ghostart.settings import load_settings
from tests.adapters.redis import faultgen


async def main(user_id: str, org_id: str, count: int, topic: str) -> None:
    settings = load_settings()
    plugins = PluginManager(allow=settings.plugins_allow, block=settings.plugins_block)
    plugins.register(faultgen, name="faultgen")
    async with Ghostart.from_settings(settings, plugins=plugins) as app:
        app.start_worker()
        principal = Principal(user_id=UUID(user_id), organization_id=UUID(org_id), role=Role.ADMIN)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        posts = await asyncio.gather(
            *(app.generation.request(principal, {"topic": topic}) for _ in range(count))
        )
        done = await asyncio.gather(
            *(app.generation.wait(principal, post, timeout=30, poll_interval=0.1) for post in posts)
        )
    print(
        json.dumps(
            [
                {
                    "status": str(post.status),
                    "generation_id": str(post.generation_id),
                    "from_cache": post.from_cache,
                    "body": post.body,
                }
                for post in done
            ]
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
