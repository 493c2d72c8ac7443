"""Katib's stock ENAS trial command, run by our image: `RunTrial.py` hands over to `enas-trial`.

Katib's stock Experiments (`enas-cpu.yaml`, `enas-gpu.yaml`) run
`python3 -u RunTrial.py --num_epochs=1 "--architecture=..." "--nn_config=..."` in the image's
working directory. This file sits there (`/workspace`), so those YAMLs work with only the image
swapped. The stock trial downloaded CIFAR-10 itself, so `--download` is on unless the command
names a dataset or the download itself (with CIFAR-10 already in `--data-dir` nothing is
fetched).
"""

import sys

from enas_trial.cli import main


def stock_args(argv: list[str]) -> list[str]:
    """The stock flags, plus `--download` where the stock trial would have downloaded."""
    names = {arg.split("=", 1)[0].replace("_", "-") for arg in argv}
    if names & {"--download", "--dataset"}:
        return argv
    return ["--download", *argv]


if __name__ == "__main__":
    sys.exit(main(stock_args(sys.argv[1:])))
