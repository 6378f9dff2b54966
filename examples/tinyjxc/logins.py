"""tinyjxc's per-user logins for jxcbench (``system.users: {callback: logins.py:logins}``).

jxcbench calls ``logins(count=U, customers=N, base_url=URL)`` once per step, before the load: it
returns U logins, one per Locust user, and makes sure each account exists (through the app's own
``POST /operators``, as a vendor's admin script would). Standard library only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def logins(count: int, customers: int, base_url: str) -> list[dict]:
    out = []
    for i in range(count):
        login = {"username": f"clerk-{i + 1}", "password": f"pw-{i + 1}"}
        req = urllib.request.Request(f"{base_url}/operators", data=json.dumps(login).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=10).close()
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # 409: made for an earlier step
                raise
        out.append(login)
    return out
