"""Whether the Hugging Face Hub can be used, asked before work that ends in an upload (`publish`, `--push_to_hub`),
so that nothing runs for hours and then fails, or hangs on retries, at the upload."""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request

__all__ = ["HubPushError", "HubUnavailableError", "check_hub_available", "hub_endpoint", "hub_offline", "hub_reachable"]

_TRUE = {"1", "true", "yes", "on"}


class HubUnavailableError(RuntimeError):
    """The Hugging Face Hub cannot be used for `--push_to_hub`; the message says why and what to do."""


class HubPushError(RuntimeError):
    """A push to the Hub failed during or after training; the message says where the outputs are."""


def hub_endpoint() -> str:
    """The Hub's address, read now (HF_ENDPOINT may be set after huggingface_hub was imported)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_reachable(timeout: float = 3.0, endpoint: str | None = None) -> bool:
    """Whether the Hub answers an HTTP request within `timeout` seconds without a server error. A full request,
    not just a TCP connection (proxies accept those for any address); run in a thread, so that a stuck DNS lookup
    cannot hang us."""
    url = (endpoint or hub_endpoint()).rstrip("/") + "/"
    answer: list[bool] = []

    def ask():
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
            answer.append(True)
        except urllib.error.HTTPError as error:  # the Hub answered, with an error status
            answer.append(error.code < 500)
        except (OSError, ValueError):
            answer.append(False)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def check_hub_available(timeout: float = 10.0, endpoint: str | None = None, token: str | None = None) -> str:
    """Raise [`HubUnavailableError`] when offline mode is on, the endpoint does not answer within `timeout`
    seconds, or no token is available; return the endpoint otherwise."""
    from huggingface_hub import get_token

    endpoint = (endpoint or hub_endpoint()).rstrip("/")
    if hub_offline():
        raise HubUnavailableError("--push_to_hub: HF_HUB_OFFLINE is set; unset it or drop --push_to_hub")
    if not hub_reachable(timeout, endpoint):
        raise HubUnavailableError(
            f"--push_to_hub: the Hub at {endpoint} cannot be reached within {timeout:g} s. Check the network (or "
            "HF_ENDPOINT), or drop --push_to_hub and upload the output folder later with `hf upload`. "
            "Nothing was trained."
        )
    if (token or get_token()) is None:
        raise HubUnavailableError(
            "--push_to_hub: no Hugging Face token; run `hf auth login`, set HF_TOKEN, or pass --hub_token"
        )
    return endpoint
