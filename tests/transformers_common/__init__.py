"""transformers' common processing test mixins, vendored so that our processors run them from a plain clone.

Copied unchanged from the source distribution of transformers 5.25.0 (`tests/test_feature_extraction_common.py`,
`tests/test_sequence_feature_extraction_common.py`, `tests/test_video_processing_common.py`,
`tests/test_processing_common.py`), which is
Copyright The HuggingFace Team and licensed under the Apache License, Version 2.0 (each file keeps its header;
http://www.apache.org/licenses/LICENSE-2.0). Update them together with the transformers pin. They hold mixins only:
`tests/test_*_transformers_common.py` set them up for our classes. `fetch_hub_objects_for_ci.py` is ours: an
offline stand-in for the CI helper that `test_processing_common.py` imports (transformers' `utils/`, not in the sdist).
"""
