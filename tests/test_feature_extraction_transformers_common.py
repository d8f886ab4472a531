"""transformers' common feature extractor tests (`SequenceFeatureExtractionTestMixin`, vendored from 5.25.0) on
`SocialMAEFeatureExtractor`, set up as transformers sets up `ASTFeatureExtractor`'s: waveforms of 400 to 2000
samples at 16 kHz. A tiny fbank (64 frames of 32 mel bins) keeps them fast."""

import itertools
import random
import unittest

import numpy as np
from transformers_common.test_sequence_feature_extraction_common import SequenceFeatureExtractionTestMixin

from social_mae_hf import SocialMAEFeatureExtractor

_rng = random.Random(0)


def floats_list(shape, scale=1.0):
    """A `shape[0]` x `shape[1]` list of random floats in [0, scale)."""
    return [[_rng.random() * scale for _ in range(shape[1])] for _ in range(shape[0])]


class SocialMAEFeatureExtractionTester:
    def __init__(self, parent, batch_size=7, min_seq_length=400, max_seq_length=2000, feature_size=1):
        self.parent = parent
        self.batch_size = batch_size
        self.min_seq_length = min_seq_length
        self.max_seq_length = max_seq_length
        self.seq_length_diff = (max_seq_length - min_seq_length) // (batch_size - 1)
        self.feature_size = feature_size
        self.padding_value = 0.0
        self.sampling_rate = 16000

    def prepare_feat_extract_dict(self):
        return {
            "feature_size": self.feature_size,
            "padding_value": self.padding_value,
            "sampling_rate": self.sampling_rate,
            "return_attention_mask": True,
            "do_normalize": True,
            "max_length": 64,
            "num_mel_bins": 32,
        }

    def prepare_inputs_for_common(self, equal_length=False, numpify=False):
        if equal_length:
            inputs = floats_list((self.batch_size, self.max_seq_length))
        else:  # lengths increasing through the batch
            inputs = [
                list(itertools.chain(*floats_list((length, self.feature_size))))
                for length in range(self.min_seq_length, self.max_seq_length, self.seq_length_diff)
            ]
        return [np.asarray(x) for x in inputs] if numpify else inputs


class SocialMAEFeatureExtractionTest(SequenceFeatureExtractionTestMixin, unittest.TestCase):
    feature_extraction_class = SocialMAEFeatureExtractor

    def setUp(self):
        self.feat_extract_tester = SocialMAEFeatureExtractionTester(self)

    def test_call_batched_and_single_agree(self):
        extractor = self.feature_extraction_class(**self.feat_extract_dict)
        waves = [np.asarray(floats_list((1, n))[0], np.float32) * 0.5 for n in (800, 1000, 1200)]
        batch = extractor(waves, sampling_rate=16000, return_tensors="np").input_values
        for wave, row in zip(waves, batch):
            single = extractor(wave, sampling_rate=16000, return_tensors="np").input_values[0]
            np.testing.assert_allclose(row, single, atol=1e-5)
