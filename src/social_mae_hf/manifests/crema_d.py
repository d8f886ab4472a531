"""CREMA-D as it unpacks: `VideoFlash/*.flv` and/or `VideoMP4/*.mp4`, `AudioWAV/*.wav`, one clip per
`ActorID_Sentence_Emotion_Level` name (`1001_DFA_ANG_XX`). Six emotions; splits by actor."""

from __future__ import annotations

import re
from pathlib import Path

from .scan import describe_folder, list_files, unreadable_reason
from .splitting import parse_ratios, split_groups
from .table import DatasetLayoutError, ManifestTable

__all__ = ["EMOTIONS", "VIDEO_FOLDERS", "read_crema_d"]

# Emotion code of the file names -> class name (the paper's names).
EMOTIONS = {
    "ANG": "anger",
    "DIS": "disgust",
    "FEA": "fear",
    "HAP": "happiness",
    "NEU": "neutral",
    "SAD": "sadness",
}
# Video folder -> suffix of its files; "auto" takes VideoMP4/ when present.
VIDEO_FOLDERS = {"mp4": ("VideoMP4", ".mp4"), "flv": ("VideoFlash", ".flv")}
_NAME = re.compile(r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_(?P<level>[A-Z]{2})$")


def read_crema_d(
    source: str | Path,
    *,
    video: str = "auto",
    audio: str = "video",
    ratios=None,
    seed: int = 0,
) -> ManifestTable:
    """Actor-independent train / validation / test manifests of CREMA-D.

    Args:
        video: `"mp4"` (VideoMP4/), `"flv"` (VideoFlash/), or `"auto"` (VideoMP4/ when present, else VideoFlash/).
        audio: `"video"`: the video's own track; `"wav"`: the separate AudioWAV/ files (an `audio` column).
        ratios: Shares of the actors per split (default 0.8, 0.1, 0.1), `"0.8,0.1,0.1"` or three numbers.
        seed: Seed of the actors' shuffle.
    """
    source = Path(source)
    ratios = parse_ratios(ratios)
    if video not in ("auto", *VIDEO_FOLDERS):
        raise DatasetLayoutError(f"crema-d video {video!r}: expected 'auto', 'mp4' or 'flv'")
    if audio not in ("video", "wav"):
        raise DatasetLayoutError(f"crema-d audio {audio!r}: expected 'video' (the video's track) or 'wav' (AudioWAV/)")
    present = {kind: source / folder for kind, (folder, _) in VIDEO_FOLDERS.items() if (source / folder).is_dir()}
    if not present and not (source / "AudioWAV").is_dir():
        raise DatasetLayoutError(
            f"no AudioWAV/ or VideoFlash/ folder: is this CREMA-D? Expected {source}/VideoFlash/ (or VideoMP4/) and "
            f"AudioWAV/; {describe_folder(source)}"
        )
    kind = ("mp4" if "mp4" in present else "flv") if video == "auto" else video
    if kind not in present:
        found = ", ".join(f"{VIDEO_FOLDERS[k][0]}/" for k in present) or "no video folder"
        raise DatasetLayoutError(f"CREMA-D {source}: expected a {VIDEO_FOLDERS[kind][0]}/ folder; found {found}")
    if audio == "wav" and not (source / "AudioWAV").is_dir():
        raise DatasetLayoutError(f"--audio wav: expected {source}/AudioWAV/; {describe_folder(source)}")
    left_out: list[tuple[str, str]] = []
    videos = _clips(present[kind], VIDEO_FOLDERS[kind][1], left_out)
    if not videos:
        raise DatasetLayoutError(
            f"{present[kind]}: no clip named like 1001_DFA_ANG_XX{VIDEO_FOLDERS[kind][1]}; "
            f"{describe_folder(present[kind])}"
        )
    wavs = _clips(source / "AudioWAV", ".wav", left_out) if audio == "wav" else {}
    if audio == "wav":
        for stem in sorted(set(videos) - set(wavs)):
            left_out.append((str(videos.pop(stem)), f"no AudioWAV/{stem}.wav to pair with"))
        for stem in sorted(set(wavs) - set(videos)):
            left_out.append((str(wavs[stem]), f"no {VIDEO_FOLDERS[kind][0]}/{stem}{VIDEO_FOLDERS[kind][1]}"))
    split_of = split_groups((stem[:4] for stem in videos), ratios, seed, what="CREMA-D actors")
    columns = ["video"] + (["audio"] if audio == "wav" else []) + ["label", "speaker", "sentence", "level"]
    splits: dict[str, list[dict[str, str]]] = {}
    for stem, path in sorted(videos.items()):
        parts = _NAME.match(stem).groupdict()
        row = {"video": str(path)}
        if audio == "wav":
            row["audio"] = str(wavs[stem])
        row |= {
            "label": EMOTIONS[parts["emotion"]],
            "speaker": parts["actor"],
            "sentence": parts["sentence"],
            "level": parts["level"],
        }
        splits.setdefault(split_of[parts["actor"]], []).append(row)
    sound = "AudioWAV/ files" if audio == "wav" else "the videos' own sound tracks"
    notes = [
        f"videos from {VIDEO_FOLDERS[kind][0]}/, sound from {sound}",
        f"actor-independent splits: ratios {ratios}, seed {seed}",
    ]
    return ManifestTable(
        columns,
        splits,
        "classification",
        audio_column="audio" if audio == "wav" else None,
        label_column="label",
        speaker_column="speaker",
        left_out=left_out,
        notes=notes,
    )


def _clips(folder: Path, suffix: str, left_out: list[tuple[str, str]]) -> dict[str, Path]:
    """Stem -> file of the well-named, readable clips in `folder`; everything else goes to `left_out`."""
    clips = {}
    for path in list_files(folder):
        match = _NAME.match(path.stem)
        if path.parent != folder or path.suffix.lower() != suffix:
            left_out.append((str(path), f"not a {suffix} file directly in {folder.name}/"))
        elif match is None:
            left_out.append((str(path), f"not a CREMA-D clip name (ActorID_Sentence_Emotion_Level{suffix})"))
        elif match["emotion"] not in EMOTIONS:
            left_out.append((str(path), f"unknown emotion code {match['emotion']!r} (expected {sorted(EMOTIONS)})"))
        elif reason := unreadable_reason(path):
            left_out.append((str(path), reason))
        else:
            clips[path.stem] = path
    return clips
