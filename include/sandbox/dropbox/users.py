"""Dropbox API v2 ``users/get_current_account``.

Follows https://www.dropbox.com/developers/documentation/http/documentation#users-get_current_account
(a ``FullAccount``: account_id, name, email, country, locale, account_type, root_info...).

Assumption: the name is made from the email's local part (``jane.doe@`` is Jane Doe); the
account is a basic, unpaired, verified US account.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from sandbox.dropbox.api_call import add_rpc_route
from sandbox.dropbox.state import DropboxState

router = APIRouter()


async def current_account(state: DropboxState, request: Request, account: dict, arg: Any) -> dict:
    local = account["email"].split("@")[0]
    words = [w.capitalize() for w in re.split(r"[._+-]+", local) if w] or ["Sandbox"]
    given, surname = words[0], " ".join(words[1:]) or "User"
    namespace = account["uid"][-9:]
    return {
        "account_id": account["account_id"],
        "name": {
            "given_name": given,
            "surname": surname,
            "familiar_name": given,
            "display_name": f"{given} {surname}",
            "abbreviated_name": (given[0] + surname[0]).upper(),
        },
        "email": account["email"],
        "email_verified": True,
        "disabled": False,
        "country": "US",
        "locale": "en",
        "referral_link": f"https://www.dropbox.com/referrals/sandbox{account['uid']}",
        "is_paired": False,
        "account_type": {".tag": "basic"},
        "root_info": {
            ".tag": "user",
            "root_namespace_id": namespace,
            "home_namespace_id": namespace,
        },
    }


add_rpc_route(router, "users/get_current_account", current_account, content=False)
