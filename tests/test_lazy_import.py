"""`import social_mae_hf` and `social-mae --help` import no torch or transformers, yet transformers knows the package's
classes and pipelines as soon as it is used, whatever the import order. Each case runs in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src"
HEAVY = ("torch", "transformers", "numpy", "av", "PIL", "safetensors", "huggingface_hub")

CHECK_REGISTERED = """
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, pipeline
from transformers.pipelines import check_task
import social_mae_hf.modeling_social_mae as modeling
assert AutoConfig.for_model("social-mae").model_type == "social-mae"
assert type(AutoModel.from_pretrained(FOLDER)) is modeling.SocialMAEModel
assert type(AutoFeatureExtractor.from_pretrained(FOLDER)).__module__.startswith("social_mae_hf.")
assert check_task("audio-visual-classification")[1]["impl"].__module__ == "social_mae_hf.pipelines.classification"
print("registered")
"""

CASES = {
    # The package first, then transformers' Auto classes and pipelines.
    "package first": "import social_mae_hf\nassert not LOADED()\n",
    # One of the package's own modules first: it imports transformers half-way through its own import.
    "a model module first": "from social_mae_hf.modeling_social_mae import SocialMAEModel\n",
    # transformers' model base first (it imports the Auto modules half-way through its own import).
    "transformers' PreTrainedModel first": "import social_mae_hf\nfrom transformers import PreTrainedModel\n",
    # transformers fully imported before the package: registered at once.
    "transformers first": "from transformers import AutoModel, pipeline\nimport social_mae_hf\n",
}


def run_python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def loaded_check() -> str:
    return f"import sys\ndef LOADED():\n    return sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})\n"


def test_building_the_command_line_imports_no_torch():
    run = run_python(loaded_check() + "import social_mae_hf.cli as cli\ncli.build_parser()\nprint(LOADED())")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_version_and_help_answer(capsys):
    from importlib.metadata import version

    from social_mae_hf.cli import main as cli_main

    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"social-mae {version('social-mae-hf')}"


def test_a_feature_extractor_saved_alone_carries_its_code(tmp_path):
    """Importing one of the package's classes registers it, without transformers' Auto classes being used."""
    run = run_python(
        f"from social_mae_hf import SocialMAEFeatureExtractor\n"
        f"SocialMAEFeatureExtractor.social_mae().save_pretrained({str(tmp_path)!r})"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["auto_map"] == {"AutoFeatureExtractor": "feature_extraction_social_mae.SocialMAEFeatureExtractor"}
    assert (tmp_path / "feature_extraction_social_mae.py").is_file()


@pytest.mark.parametrize("case", list(CASES))
def test_transformers_knows_the_package_in_any_import_order(case, converted):
    code = loaded_check() + f"FOLDER = {str(converted['social_mae_pretrain'])!r}\n" + CASES[case] + CHECK_REGISTERED
    run = run_python(code)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("registered")
