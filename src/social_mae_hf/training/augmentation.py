"""Fine-tuning augmentations of CAV-MAE, applied to whole training batches (on the training device).

CAV-MAE's data loader (`src/dataloader.py`, release aa7a66b) does, per training clip:

- mixup with probability `mixup`: the clip is mixed with another random clip, weight lambda ~ Beta(10, 10),
  waveforms and (normalised) images alike, and the label becomes lambda * own + (1 - lambda) * other;
- SpecAugment: torchaudio's `FrequencyMasking(freqm)` then `TimeMasking(timem)` on the raw log-mel
  (before normalisation), i.e. one band of `int(U * freqm)` mel bins and one of `int(U * timem)` frames
  set to 0, at a uniformly drawn start.

Here both run on the batch after decoding, so the eval data path has no augmentation by construction and
mixing costs no second decode. Two deliberate differences: the mixing partner is another clip of the same
batch (not of the whole dataset), and audio is mixed as normalised fbank rather than as waveform (the log of
a sum versus the sum of logs); the video mixing is identical, normalisation being affine.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Mixup", "SpecAugment", "TrainAugmentation"]


def _band_mask(batch: int, size: int, max_width: int, device: torch.device) -> torch.Tensor:
    """(batch, size) bool: one band per row, width int(U * max_width), start int(U * (size - width)).

    The same draws as torchaudio's `mask_along_axis` (`iid_masks=False`), one per clip.
    """
    width = torch.rand(batch) * max_width
    start = (torch.rand(batch) * (size - width)).long()
    end = start + width.long()
    positions = torch.arange(size)
    mask = (positions[None, :] >= start[:, None]) & (positions[None, :] < end[:, None])
    return mask.to(device)


@dataclass
class SpecAugment:
    """One frequency band and one time band masked per clip of `input_values` `(batch, frames, mel_bins)`.

    Args:
        freqm: Largest frequency band (mel bins); 0 disables it. CAV-MAE used 48 on AudioSet/VGGSound.
        timem: Largest time band (fbank frames); 0 disables it. CAV-MAE used 192 for 1024 frames.
        mask_value: What a masked cell becomes. CAV-MAE masks the raw log-mel with 0 before normalising, so on
            our normalised fbank the faithful value is `(0 - mean) / std`
            ([`SpecAugment.for_feature_extractor`]).
    """

    freqm: int = 0
    timem: int = 0
    mask_value: float = 0.0

    def __post_init__(self):
        if self.freqm < 0 or self.timem < 0:
            raise ValueError(f"freqm and timem must be >= 0, got {self.freqm} and {self.timem}")

    @classmethod
    def for_feature_extractor(cls, feature_extractor, freqm: int = 0, timem: int = 0) -> SpecAugment:
        """Masks that hold the normalised value of a zero log-mel, as CAV-MAE's masking before normalisation."""
        value = 0.0
        if feature_extractor.do_normalize:
            value = (0.0 - feature_extractor.mean) / feature_extractor.std
        return cls(freqm=freqm, timem=timem, mask_value=value)

    @property
    def enabled(self) -> bool:
        return self.freqm > 0 or self.timem > 0

    def __call__(self, input_values: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return input_values
        batch, frames, bins = input_values.shape
        masked = torch.zeros(batch, frames, bins, dtype=torch.bool, device=input_values.device)
        if self.freqm > 0:
            masked |= _band_mask(batch, bins, self.freqm, input_values.device)[:, None, :]
        if self.timem > 0:
            masked |= _band_mask(batch, frames, self.timem, input_values.device)[:, :, None]
        return input_values.masked_fill(masked, self.mask_value)


@dataclass
class Mixup:
    """Mix each clip, with probability `prob`, with a random clip of the batch; targets become soft.

    Args:
        prob: Chance that a clip is mixed (CAV-MAE's `mixup`, 0.5 in its recipes); 0 disables mixup.
        alpha: lambda ~ Beta(alpha, alpha); CAV-MAE uses 10 (lambda mostly within 0.3-0.7).
        num_labels: Classes, to turn class indices into one-hot targets.

    Class indices `(batch,)` become float `(batch, num_labels)` class probabilities (every clip, mixed or not,
    so that a batch has one label type); multi-hot targets are mixed the same way. The classification model
    takes such float targets as soft cross-entropy (single-label) or BCE targets (multi-label).
    """

    prob: float = 0.0
    alpha: float = 10.0
    num_labels: int = 0

    def __post_init__(self):
        if not 0.0 <= self.prob <= 1.0:
            raise ValueError(f"mixup probability must be in [0, 1], got {self.prob}")
        if self.alpha <= 0:
            raise ValueError(f"mixup alpha must be > 0, got {self.alpha}")
        if self.prob > 0 and self.num_labels < 1:
            raise ValueError("mixup needs the number of classes")

    @property
    def enabled(self) -> bool:
        return self.prob > 0

    def __call__(self, batch: dict) -> dict:
        if not self.enabled:
            return batch
        labels = batch["labels"]
        size = labels.shape[0]
        if labels.ndim == 1 and not labels.dtype.is_floating_point:
            targets = torch.nn.functional.one_hot(labels, self.num_labels).float()
        elif labels.ndim == 2 and labels.shape[1] == self.num_labels:
            targets = labels.float()
        else:
            raise ValueError(
                f"mixup needs class indices (batch,) or targets (batch, {self.num_labels}), got {tuple(labels.shape)}"
            )
        partner = torch.randint(0, size, (size,))
        lam = torch.distributions.Beta(self.alpha, self.alpha).sample((size,))
        lam = torch.where(torch.rand(size) < self.prob, lam, torch.ones(size))
        out = dict(batch)
        for name in ("input_values", "pixel_values"):
            if name in batch:
                x = batch[name]
                weight = lam.to(x.device, x.dtype).view(-1, *([1] * (x.ndim - 1)))
                out[name] = weight * x + (1 - weight) * x[partner.to(x.device)]
        weight = lam.to(targets.device)[:, None]
        out["labels"] = weight * targets + (1 - weight) * targets[partner.to(targets.device)]
        return out


@dataclass
class TrainAugmentation:
    """SpecAugment on the audio, then mixup; what the trainer applies to every training batch."""

    spec_augment: SpecAugment | None = None
    mixup: Mixup | None = None

    @property
    def enabled(self) -> bool:
        return bool((self.spec_augment and self.spec_augment.enabled) or (self.mixup and self.mixup.enabled))

    def __call__(self, batch: dict) -> dict:
        if self.spec_augment is not None and self.spec_augment.enabled and "input_values" in batch:
            batch = {**batch, "input_values": self.spec_augment(batch["input_values"])}
        if self.mixup is not None and self.mixup.enabled:
            batch = self.mixup(batch)
        return batch
