"""Errors raised for inputs the processor (and its feature extractor and video processor) cannot use, and for
model folders whose files are not what a job needs.

The input errors are `ValueError`s so that callers catching the usual transformers input errors keep working;
their message always names the input (its path, or "item 3 of the batch") and says what is wrong.
`ModelFilesError` is an `OSError`, as transformers raises for missing or unreadable model files.
"""


class InvalidInputError(ValueError):
    """An input that is malformed: wrong type, shape, dtype, sampling rate, length or values."""


class MediaDecodeError(InvalidInputError):
    """A file or byte string that cannot be opened or decoded as the media it was passed as."""


class MissingModalityError(InvalidInputError):
    """A media input lacks a stream that was asked for (e.g. a video without an audio track)."""


class ModelFilesError(OSError):
    """A model folder or Hub repository whose files are missing, unreadable, or not what the job needs."""


class ManifestError(ValueError):
    """A manifest, dataset or shard set that cannot be used: the message names the file or split, the row (or
    sample) and the column."""
