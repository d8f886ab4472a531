"""Audio <-> video retrieval over a set of clips from their pooled embeddings (CAV-MAE's retrieval protocol:
cosine similarity of the modality-specific features; clip i's audio and clip i's video are the only match)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["recall_at_k", "retrieval_ranks", "similarity_matrix"]


def _as_matrix(embeddings, what: str) -> torch.Tensor:
    matrix = torch.stack([torch.as_tensor(e) for e in embeddings]) if isinstance(embeddings, list) else embeddings
    matrix = torch.as_tensor(matrix, dtype=torch.float32)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise ValueError(f"`{what}` must be (clips, dim) embeddings, got shape {tuple(matrix.shape)}")
    if not torch.isfinite(matrix).all():
        raise ValueError(f"`{what}` contains NaN or infinite values")
    return matrix


def similarity_matrix(audio, video) -> torch.Tensor:
    """Cosine similarities `(clips, clips)`: row i is clip i's audio against every clip's video."""
    audio, video = _as_matrix(audio, "audio"), _as_matrix(video, "video")
    if audio.shape != video.shape:
        raise ValueError(f"audio {tuple(audio.shape)} and video {tuple(video.shape)} embeddings must pair up")
    return torch.nn.functional.normalize(audio, dim=-1) @ torch.nn.functional.normalize(video, dim=-1).T


def retrieval_ranks(similarity: torch.Tensor) -> torch.Tensor:
    """0-based rank of the true match of each query (row) among all candidates (columns); ties count against."""
    true = similarity.diagonal().unsqueeze(1)
    return (similarity >= true).sum(dim=1) - 1


def recall_at_k(audio, video, ks: Sequence[int] = (1, 5, 10)) -> dict[str, dict[int, float]]:
    """Share of clips whose true match is in the top k, both ways.

    Returns `{"audio_to_video": {k: recall}, "video_to_audio": {k: recall}}`; `ks` larger than the number of
    clips give 1.0, as every candidate is retrieved.
    """
    if not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in ks):
        raise ValueError(f"`ks` must be positive integers, got {ks!r}")
    similarity = similarity_matrix(audio, video)
    ranks = {"audio_to_video": retrieval_ranks(similarity), "video_to_audio": retrieval_ranks(similarity.T)}
    return {direction: {k: (r < k).float().mean().item() for k in ks} for direction, r in ranks.items()}
