"""transformers' common video processor tests (`VideoProcessingTestMixin`, vendored from 5.25.0) on
`SocialMAEVideoProcessor`, set up as transformers sets up `VideoMAEVideoProcessor`'s: batches of 5 videos of 8
frames, 30 to 80 pixels, as PIL, numpy and torch. Tiny frames keep them fast."""

import unittest

import transformers_common.test_video_processing_common as common
from transformers.models.auto.video_processing_auto import AutoVideoProcessor
from transformers_common.test_video_processing_common import VideoProcessingTestMixin, prepare_video_inputs

from social_mae_hf import SocialMAEVideoProcessor
from social_mae_hf.video_processing_social_mae import IMAGENET_MEAN, IMAGENET_STD

# `transformers.AutoVideoProcessor` is a placeholder that asks for torchvision, which this package does not need; the
# class itself loads ours (registered by `social_mae_hf`).
common.AutoVideoProcessor = AutoVideoProcessor


class SocialMAEVideoProcessingTester:
    def __init__(self, parent, batch_size=5, num_frames=8, min_resolution=30, max_resolution=80):
        self.parent = parent
        self.batch_size = batch_size
        self.num_frames = num_frames
        self.num_channels = 3
        self.min_resolution = min_resolution
        self.max_resolution = max_resolution
        self.crop_size = {"height": 18, "width": 18}

    def prepare_video_processor_dict(self):
        # CAV-MAE's resize (shorter side, then a centre crop), as VideoMAE's tests use it, and transformers' uniform
        # frame sampling (the tests sample `num_frames` or `fps` frames of videos without a frame rate).
        return {
            "frame_sampling": "uniform",
            "do_convert_rgb": True,
            "do_resize": True,
            "size": {"shortest_edge": 20},
            "do_center_crop": True,
            "crop_size": self.crop_size,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": list(IMAGENET_MEAN),
            "image_std": list(IMAGENET_STD),
            "do_sample_frames": False,
            "num_frames": self.num_frames,
        }

    def expected_output_video_shape(self, videos):
        return self.num_frames, self.num_channels, self.crop_size["height"], self.crop_size["width"]

    def prepare_video_inputs(self, equal_resolution=False, return_tensors="pil"):
        return prepare_video_inputs(
            batch_size=self.batch_size,
            num_frames=self.num_frames,
            num_channels=self.num_channels,
            min_resolution=self.min_resolution,
            max_resolution=self.max_resolution,
            equal_resolution=equal_resolution,
            return_tensors=return_tensors,
        )


class SocialMAEVideoProcessingTest(VideoProcessingTestMixin, unittest.TestCase):
    fast_video_processing_class = SocialMAEVideoProcessor
    input_name = "pixel_values"

    def setUp(self):
        super().setUp()
        self.video_processor_tester = SocialMAEVideoProcessingTester(self)

    @property
    def video_processor_dict(self):
        return self.video_processor_tester.prepare_video_processor_dict()

    def test_video_processor_from_dict_with_kwargs(self):
        # Overridden: `size=42` means a 42 x 42 square here (the originals stretch frames to a square, which parity
        # needs), where transformers' image processors read a bare int as the shorter side.
        processor = self.fast_video_processing_class.from_dict(self.video_processor_dict)
        self.assertEqual(processor.size.shortest_edge, 20)
        self.assertEqual((processor.crop_size.height, processor.crop_size.width), (18, 18))
        processor = self.fast_video_processing_class.from_dict(
            {**self.video_processor_dict, "size": {"height": 42, "width": 42}, "do_center_crop": False}, crop_size=84
        )
        self.assertEqual((processor.size.height, processor.size.width), (42, 42))
        self.assertEqual((processor.crop_size.height, processor.crop_size.width), (84, 84))
        square = self.fast_video_processing_class.from_dict(
            {**self.video_processor_dict, "do_center_crop": False}, size=42
        )
        self.assertEqual((square.size.height, square.size.width), (42, 42))
