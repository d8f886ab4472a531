"""Offline stand-in for transformers' `utils/fetch_hub_objects_for_ci.py`, which `test_processing_common.py`
imports (the source distribution does not ship `utils/`).

transformers' CI downloads the Hub objects beforehand and maps each URL to the local copy; here nothing is
downloaded (the tests run without network), so every URL stays as it is. Only the chat-template tests read these
media, and they skip for a processor without a chat template, as `SocialMAEProcessor` is.
"""


def url_to_local_path(url: str, return_url_if_not_found: bool = True) -> str:
    """The URL itself: there is no local copy of a Hub object here."""
    return url
