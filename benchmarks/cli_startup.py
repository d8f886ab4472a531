"""Start-up time of the `social-mae` command and of `import social_mae_hf`, against a bare interpreter and torch.

Each command runs in a fresh interpreter `--repeats` times (medians of wall time, and of CPU time, which a busy
machine disturbs less); every ratio is against `python -c pass` measured in the same run, and `import torch` is
shown as the cost that `--help` must not pay. To measure another checkout (e.g. the code before a change), put its
`src` first: `PYTHONPATH=/path/to/checkout/src python benchmarks/cli_startup.py`.

    python benchmarks/cli_startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "social-mae --help": ["social-mae", "--help"],
    "social-mae predict --help": ["social-mae", "predict", "--help"],
    "python -c 'import social_mae_hf'": [sys.executable, "-c", "import social_mae_hf"],
    "import social_mae_hf + AutoConfig (registered)": [
        sys.executable,
        "-c",
        "import social_mae_hf; from transformers import AutoConfig; AutoConfig.for_model('social-mae')",
    ],
}


def run_timed(command: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="Runs per command (default 5); medians are shown.")
    args = parser.parse_args()
    if shutil.which("social-mae") is None:
        sys.exit("social-mae is not on PATH: install the package (pip install -e .) and activate its environment")
    env_threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"{args.repeats} runs each, medians; OMP_NUM_THREADS={env_threads}")
    medians = {}
    for name, command in CASES.items():
        run_timed(command)  # warm the file cache
        runs = [run_timed(command) for _ in range(args.repeats)]
        medians[name] = tuple(statistics.median(values) for values in zip(*runs))
    bare_wall, bare_cpu = medians["python -c pass"]
    print(f"{'command':<48} {'wall':>7} {'x bare':>8} {'CPU':>7} {'x bare':>8}")
    for name, (wall, cpu) in medians.items():
        print(f"{name:<48} {wall:>6.2f}s {wall / bare_wall:>7.1f}x {cpu:>6.2f}s {cpu / bare_cpu:>7.1f}x")


if __name__ == "__main__":
    main()
