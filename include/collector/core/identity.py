"""Who someone is: the matching key of an email address, and masks that recognise without revealing.

A collector is identified by the email address they sign up with (FAQ 5); the app, the master
sheet, the review sheet and the portal all match addresses through :func:`normalize_email`.
"""

from __future__ import annotations


def normalize_email(value: str | None) -> str:
    """The matching key of an address: spaces around it trimmed, case folded (FAQ 5)."""
    return (value or "").strip().casefold()


def mask_receiver(method: str | None, receiver: str | None) -> str | None:
    """Enough to recognise, never enough to use: ``a***@example.com``, ``****1234``."""
    if not receiver:
        return None
    if method == "paypal" and "@" in receiver:
        local, domain = receiver.split("@", 1)
        return f"{local[:1]}***@{domain}"
    return "****" + receiver[-4:] if len(receiver) > 4 else "****"
