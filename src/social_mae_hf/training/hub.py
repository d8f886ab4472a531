"""Checking, before any training, that `--push_to_hub` can work, so that a run does not train for hours and
then fail (or hang on retries) at the push."""

from __future__ import annotations

import urllib.error
import urllib.request

__all__ = ["HubPushError", "HubUnavailableError", "check_hub_available"]


class HubUnavailableError(RuntimeError):
    """The Hugging Face Hub cannot be used for `--push_to_hub`; the message says why and what to do."""


class HubPushError(RuntimeError):
    """A push to the Hub failed during or after training; the message says where the outputs are."""


def check_hub_available(timeout: float = 10.0, endpoint: str | None = None, token: str | None = None) -> str:
    """Raise [`HubUnavailableError`] when offline mode is on, the endpoint does not answer within `timeout`
    seconds, or no token is available; return the endpoint otherwise."""
    from huggingface_hub import constants, get_token

    endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
    if constants.HF_HUB_OFFLINE:
        raise HubUnavailableError("--push_to_hub: HF_HUB_OFFLINE is set; unset it or drop --push_to_hub")
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/api/whoami-v2", method="GET"), timeout=timeout):
            pass
    except urllib.error.HTTPError:
        pass  # the server answered (401 without a token): it is reachable
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise HubUnavailableError(
            f"--push_to_hub: the Hub at {endpoint} cannot be reached ({reason}). Check the network (or "
            "HF_ENDPOINT), or drop --push_to_hub and upload the output folder later with `hf upload`. "
            "Nothing was trained."
        ) from None
    if (token or get_token()) is None:
        raise HubUnavailableError(
            "--push_to_hub: no Hugging Face token; run `hf auth login`, set HF_TOKEN, or pass --hub_token"
        )
    return endpoint
