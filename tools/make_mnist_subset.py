"""Write the offline MNIST subset shipped in optviz/mnist/subset/: the first 10,000 training and the first 2,000 test
digits of the original MNIST files, as gzip-compressed IDX files, and print their SHA-256 for optviz/mnist/data.py.

    python tools/make_mnist_subset.py [--source /work/shared/data/mnist] [--train 10000] [--test 2000]

The source files are verified against MNIST's published hashes before anything is cut from them. The output is
byte-for-byte reproducible (gzip level 9, no file name or time stamp in the gzip header). Both MNIST splits are
already in mixed writer order, so their first digits are a fair sample; the class counts are printed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from optviz.mnist.data import FILES, MNIST_SHA256, SUBSET_DIR, idx_bytes, read_idx  # noqa: E402


def main(argv: list[str] | None = None, hashes: dict[str, str] = MNIST_SHA256) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/work/shared/data/mnist"))
    parser.add_argument("--train", type=int, default=10_000)
    parser.add_argument("--test", type=int, default=2_000)
    parser.add_argument("--out", type=Path, default=SUBSET_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for stem, (split, kind) in FILES.items():
        path = next(p for p in (args.source / f"{stem}.gz", args.source / stem) if p.is_file())
        array = read_idx(path, hashes[stem])[: args.train if split == "train" else args.test]
        content = idx_bytes(array)
        # gzip.compress(mtime=0) writes no name and a zero time stamp: the same bytes on every run
        (args.out / f"{stem}.gz").write_bytes(gzip.compress(content, compresslevel=9, mtime=0))
        print(f'    "{stem}": "{hashlib.sha256(content).hexdigest()}",')
        if kind == "labels":
            print(f"      {split} class counts: {np.bincount(array, minlength=10).tolist()}")


if __name__ == "__main__":
    main()
