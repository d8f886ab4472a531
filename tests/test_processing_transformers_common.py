"""transformers' common processor tests (`ProcessorTesterMixin`, vendored from 5.25.0) on `SocialMAEProcessor`,
set up as transformers sets up `PeAudioVideoProcessor`'s (a feature extractor and a video processor), with tiny
local parts instead of a Hub checkpoint: its inputs are 8 frames of 30 x 400 pixels and 1000 audio samples."""

import sys
import unittest

import transformers_common.fetch_hub_objects_for_ci as hub_objects

# The vendored file imports transformers' CI helper by its bare name (from `utils/`, not in the sdist).
sys.modules.setdefault("fetch_hub_objects_for_ci", hub_objects)

from transformers_common.test_processing_common import ProcessorTesterMixin  # noqa: E402

from social_mae_hf import SocialMAEFeatureExtractor, SocialMAEProcessor, SocialMAEVideoProcessor  # noqa: E402


class SocialMAEProcessorTest(ProcessorTesterMixin, unittest.TestCase):
    processor_class = SocialMAEProcessor
    videos_input_name = "pixel_values"
    audio_input_name = "input_values"

    @classmethod
    def _setup_feature_extractor(cls):
        return SocialMAEFeatureExtractor.social_mae(max_length=64, num_mel_bins=32)

    @classmethod
    def _setup_video_processor(cls):
        return SocialMAEVideoProcessor.social_mae(image_size=32, num_frames=8)
