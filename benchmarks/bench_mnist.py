"""MNIST benchmarks: accuracy of the presets, epoch time beside PyTorch and the matmuls alone, streaming cost.

    python benchmarks/bench_mnist.py [--data-dir DIR] [--repeat 5] [--quick]
    python benchmarks/bench_mnist.py --cnn [--cnn-epochs 10] [--classic adadelta,adam,… --classic-epochs 10]

Needs the full MNIST (--data-dir, else $OPTVIZ_MNIST_DIR, else ../shared/data/mnist beside the checkout;
otherwise the loader's own search, which may end on the shipped subset: the source is printed). PyTorch is
imported here only, for the side-by-side timing, and skipped if absent. Targets are printed, not asserted:
timings on shared machines are noisy. Times are medians over --repeat epochs, the variants measured in
turn within each repetition so that a burst of load hits all of them alike.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
from optviz.mnist import PRESETS, MnistData, load_mnist, loss_landscape, train  # noqa: E402

BATCH, LR = 128, 1e-3


def default_data_dir() -> Path | None:
    for candidate in (os.environ.get("OPTVIZ_MNIST_DIR"), ROOT.parent / "shared" / "data" / "mnist"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def blas_threads() -> int:
    """Threads NumPy's BLAS uses: threadpoolctl's answer where it is installed, else OpenBLAS's environment
    variables, else the core count (OpenBLAS's default)."""
    try:
        from threadpoolctl import threadpool_info
        return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
    except (ImportError, ValueError):
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            if os.environ.get(name, "").isdigit():
                return int(os.environ[name])
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------------------------
# Accuracy

def accuracy(data: MnistData, epochs: int) -> dict:
    """Adam (lr 1e-3, batch 128) on both presets, and momentum SGD for a second landscape path."""
    runs = {}
    for name, optimizer, hparams, target in [("default", "adam", {"lr": LR}, 0.975),
                                             ("two-layer", "adam", {"lr": LR}, 0.98),
                                             ("default", "momentum", {"lr": 0.05}, None)]:
        preset = PRESETS[name]
        arch = "-".join(map(str, (784, *preset["hidden"], 10)))
        run = train(data, optimizer, epochs=epochs, batch_size=BATCH, seed=0, **preset, **hparams)
        extra = f", {preset['schedule']} schedule over the run" if "schedule" in preset else ""
        print(f"\n{optimizer} {hparams} on {arch} ({name} preset{extra}), batch {BATCH}:")
        for event in run:
            if event["epoch_end"]:
                print(f"  epoch {event['epoch']}: test accuracy {event['test_accuracy']:.2%}   train loss "
                      f"{event['loss']:.4f}   {event['epoch_seconds']:.2f} s")
        if target is not None:
            final = run.history[-1]["test_accuracy"]
            verdict = "met" if final >= target else "NOT met"
            print(f"  target ≥ {target:.1%} within {epochs} epochs: {verdict} ({final:.2%})")
        runs[(name, optimizer)] = run
    return runs


# ---------------------------------------------------------------------------------------------------------------
# Epoch time: optviz.mnist, PyTorch, the five matmuls alone, the optimizer alone

class NumpyEpochs:
    """Whole epochs of the library as the app uses it (events every 25 batches); the test set is cut to 10
    digits so that the epoch-end evaluation does not count."""

    def __init__(self, data: MnistData, repeat: int, eval_every: int = 25):
        timing_data = MnistData(data.x_train, data.y_train, data.x_test[:10], data.y_test[:10], data.source)
        self.run = train(timing_data, "adam", epochs=repeat + 1, batch_size=BATCH, eval_every=eval_every, lr=LR)
        self._epoch()   # warm-up: workspaces and scratch buffers are allocated in the first epoch

    def _epoch(self) -> float:
        t0 = time.perf_counter()
        for event in self.run:
            if event["epoch_end"]:
                break
        return time.perf_counter() - t0

    def __call__(self) -> float:
        return self._epoch()


class TorchEpochs:
    """The same network, optimizer, batch size and data order in PyTorch, CPU, with the same thread count."""

    def __init__(self, data: MnistData, threads: int):
        import torch  # only here: optviz itself never imports torch
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.torch = torch
        self.x = torch.from_numpy(np.ascontiguousarray(data.x_train))
        self.y = torch.from_numpy(data.y_train.astype(np.int64))
        self.model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.rng = np.random.default_rng(0)
        self()   # warm-up

    def __call__(self) -> float:
        torch = self.torch
        order = torch.from_numpy(self.rng.permutation(len(self.y)))
        t0 = time.perf_counter()
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            x, y = self.x[idx], self.y[idx]
            self.opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(self.model(x), y)
            loss.backward()
            self.opt.step()
            loss.item()   # the library reads every batch's loss too
        return time.perf_counter() - t0


class MatmulEpochs:
    """Only the five products of forward + backward for every batch of an epoch, into the model's buffers:
    x W₁, a₁ W₂ (forward); a₁ᵀ δ₂, δ₂ W₂ᵀ, xᵀ δ₁ (backward). The floor a NumPy epoch cannot go below."""

    def __init__(self, data: MnistData, run):
        self.x = data.x_train
        self.model = run.model
        self.ws = run.model._workspace(BATCH)
        self.ws.acts[1][...] = 0.01   # δ₂ and δ₁ stand-ins: the values do not change the cost
        self.ws.deltas[0][...] = 0.01

    def __call__(self, batches: int | None = None, start: int = 0) -> float:
        """Seconds for the products of `batches` batches from digit `start` on (default: a whole epoch)."""
        (w1, w2), (g1, _, g2, _) = self.model.weights, self.model.grads
        a1, z2, d1 = self.ws.acts[0], self.ws.acts[1], self.ws.deltas[0]
        end = len(self.x) if batches is None else start + batches * BATCH
        t0 = time.perf_counter()
        for first in range(start, end, BATCH):
            x = self.x[first % len(self.x):][:BATCH]
            n = len(x)
            np.matmul(x, w1, out=a1[:n])
            np.matmul(a1[:n], w2, out=z2[:n])
            np.matmul(a1[:n].T, z2[:n], out=g2)
            np.matmul(z2[:n], w2.T, out=d1[:n])
            np.matmul(x.T, d1[:n], out=g1)
        return time.perf_counter() - t0


class InplaceEpochs:
    """The floor of NumPy here: 784-256-10 with Adam written as one flat loop, every buffer allocated once, Adam
    in 12 in-place passes with the bias corrections folded into two scalars, subnormal moments flushed every 16
    steps (as the library does), and nothing else: no events, statistics, snapshots or checks.

    With `compiled_adam`, the Adam update is one fused loop compiled by numba (a development reference only,
    like PyTorch: optviz never imports it)."""

    def __init__(self, data: MnistData, compiled_adam: bool = False):
        self.x, self.y = np.ascontiguousarray(data.x_train), data.y_train.astype(np.intp)
        self.rng = np.random.default_rng(0)
        shapes = [(784, 256), (256,), (256, 10), (10,)]
        sizes = [int(np.prod(shape)) for shape in shapes]
        self.flat, self.grad = (np.zeros(sum(sizes), np.float32) for _ in range(2))
        self.m, self.v, self.work = (np.zeros_like(self.flat) for _ in range(3))
        offsets = np.cumsum([0, *sizes])
        self.params = [self.flat[a:b].reshape(shape) for a, b, shape in zip(offsets, offsets[1:], shapes)]
        self.grads = [self.grad[a:b].reshape(shape) for a, b, shape in zip(offsets, offsets[1:], shapes)]
        for w in self.params[0::2]:
            w[...] = self.rng.standard_normal(w.shape) * np.sqrt(2.0 / w.shape[0])
        self.xb, self.a1 = np.empty((BATCH, 784), np.float32), np.empty((BATCH, 256), np.float32)
        self.z2, self.d1 = np.empty((BATCH, 10), np.float32), np.empty((BATCH, 256), np.float32)
        self.t = 0
        self.adam = self._compiled_adam() if compiled_adam else self._numpy_adam
        self()   # warm-up (and compilation)

    def _numpy_adam(self, bc1: float, bc2_sqrt: float) -> None:
        g, m, v, w = self.grad, self.m, self.v, self.work
        np.subtract(g, m, out=w)
        w *= 0.1
        m += w
        v *= 0.999
        np.multiply(g, g, out=w)
        w *= 0.001
        v += w
        np.sqrt(v, out=w)
        w += 1e-8 * bc2_sqrt
        np.divide(m, w, out=w)
        w *= LR * bc2_sqrt / bc1
        self.flat -= w

    def _compiled_adam(self):
        import numba

        @numba.njit(error_model="numpy")   # no zero-division branch, so that LLVM vectorizes √ and ÷
        def adam(p, g, m, v, scale, eps):
            for i in range(p.size):
                m[i] += np.float32(0.1) * (g[i] - m[i])
                v[i] = np.float32(0.999) * v[i] + np.float32(0.001) * g[i] * g[i]
                p[i] -= scale * m[i] / (np.sqrt(v[i]) + eps)

        def step(bc1: float, bc2_sqrt: float) -> None:
            adam(self.flat, self.grad, self.m, self.v, np.float32(LR * bc2_sqrt / bc1), np.float32(1e-8 * bc2_sqrt))
        return step

    def __call__(self) -> float:
        (w1, b1, w2, b2), (g1, gb1, g2, gb2) = self.params, self.grads
        order = self.rng.permutation(len(self.y))
        t0 = time.perf_counter()
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            n = len(idx)
            x, a1, z, d1, y = self.xb[:n], self.a1[:n], self.z2[:n], self.d1[:n], self.y[idx]
            np.take(self.x, idx, axis=0, out=x, mode="clip")
            np.matmul(x, w1, out=a1)
            a1 += b1
            np.maximum(a1, 0, out=a1)
            np.matmul(a1, w2, out=z)
            z += b2
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
            z[np.arange(n), y] -= 1
            z *= 1 / n                                  # δ₂ = (softmax − onehot)/n
            np.matmul(a1.T, z, out=g2)
            np.sum(z, axis=0, out=gb2)
            np.matmul(z, w2.T, out=d1)
            d1 *= a1 > 0                                # δ₁ = δ₂ W₂ᵀ ⊙ ReLU′
            np.matmul(x.T, d1, out=g1)
            np.sum(d1, axis=0, out=gb1)
            self.t += 1
            self.adam(1 - 0.9 ** self.t, math.sqrt(1 - 0.999 ** self.t))
            if self.t % 16 == 0:
                for moment in (self.m, self.v):
                    moment[np.abs(moment) < np.finfo(np.float32).tiny] = 0
        return time.perf_counter() - t0


class OptimizerEpochs:
    """Only the optimizer: Adam's step_ on the flat parameter vector, as many times as an epoch has batches,
    on copies of the timed run's current weights, gradients and state."""

    def __init__(self, run):
        self.run = run

    def __call__(self) -> float:
        run = self.run
        params, grads = run.model.flat.copy(), run.model.flat_grad.copy()
        state = type(run.state)(*(a.copy() for a in run.state))
        t0 = time.perf_counter()
        for _ in range(run.steps_per_epoch):
            run.optimizer.step_(params, grads, state)
        return time.perf_counter() - t0


def chunked_ratio(data: MnistData, epochs: int) -> None:
    """The library's epoch against the matmuls alone, measured in turn every 25 batches (one event of the library)
    rather than every epoch: a burst of load from elsewhere, which lasts seconds here, then hits both alike."""
    library = NumpyEpochs(data, epochs).run
    matmuls = MatmulEpochs(data, train(data, "adam", batch_size=BATCH, lr=LR))
    ratios, totals, done = [], [0.0, 0.0], library.step
    for _ in range(epochs * library.steps_per_epoch // library.eval_every):
        t0 = time.perf_counter()
        event = next(library)
        ours = time.perf_counter() - t0
        batches, done = event["step"] - done, event["step"]
        theirs = matmuls(batches, start=(done % library.steps_per_epoch) * BATCH)
        ratios.append(ours / theirs)
        totals[0], totals[1] = totals[0] + ours, totals[1] + theirs
    print(f"  in turn every {library.eval_every} batches over {epochs} epochs: the library takes "
          f"{totals[0] / totals[1]:.2f}× the matmuls' time (median of {len(ratios)} chunks: "
          f"{statistics.median(ratios):.2f}×)")


def settle(seconds: float = 0.5) -> None:
    """Wait until the thread pools of the variant timed before (OpenBLAS's, PyTorch's OpenMP) stop spinning: a pool
    that still busy-waits for work takes a core from the next variant's threads."""
    time.sleep(seconds)


def epoch_times(data: MnistData, repeat: int, with_torch: bool) -> None:
    threads = blas_threads()
    numpy_epochs = NumpyEpochs(data, repeat)
    timers = {"optviz.mnist (NumPy)": numpy_epochs}
    if with_torch:
        try:
            timers["PyTorch"] = TorchEpochs(data, threads)
        except ImportError:
            print("PyTorch is not installed: its column is skipped (pip install torch==2.13.0)")
    timers["five matmuls alone"] = MatmulEpochs(data, train(data, "adam", batch_size=BATCH, lr=LR))
    timers["Adam step_ alone"] = OptimizerEpochs(numpy_epochs.run)
    timers["in-place NumPy floor"] = InplaceEpochs(data)
    try:
        timers["floor, Adam compiled (numba)"] = InplaceEpochs(data, compiled_adam=True)
    except ImportError:
        print("numba is not installed: no compiled reference (pip install numba to see it)")
    times = {label: [] for label in timers}
    for _ in range(repeat):   # interleaved: a burst of load from elsewhere hits every variant alike
        for label, timer in timers.items():
            settle()
            times[label].append(timer())

    print(f"\nEpoch time, 784-256-10, Adam lr {LR}, batch {BATCH}, {len(data.y_train):,} digits; median of {repeat} "
          f"(NumPy's BLAS threads: {threads}; torch.set_num_threads({threads})):")
    medians = {label: statistics.median(values) for label, values in times.items()}
    for label, values in times.items():
        print(f"  {label:28s} {medians[label]:6.3f} s   (min {min(values):.3f}, max {max(values):.3f})")
    ours, matmuls = medians["optviz.mnist (NumPy)"], medians["five matmuls alone"]
    if "PyTorch" in medians:
        verdict = "met" if ours < medians["PyTorch"] else "NOT met"
        best = min(times["optviz.mnist (NumPy)"]) / min(times["PyTorch"])
        print(f"  target: below PyTorch: {verdict} ({ours / medians['PyTorch']:.2f}× PyTorch's median time; "
              f"{best:.2f}× its best)")
    library, products = times["optviz.mnist (NumPy)"], times["five matmuls alone"]
    paired = statistics.median(a / b for a, b in zip(library, products))
    verdict = "met" if ours <= 1.8 * matmuls else "NOT met"
    print(f"  target: ≤ 1.8× the matmuls alone: {verdict} ({ours / matmuls:.2f}× median to median; {paired:.2f}× the "
          f"median of each repetition's ratio; {min(library) / min(products):.2f}× best to best)")
    for floor in ("in-place NumPy floor", "floor, Adam compiled (numba)"):
        if floor in medians:
            print(f"  {floor}: {medians[floor] / matmuls:.2f}× the matmuls; the library takes "
                  f"{ours / medians[floor]:.2f}× its time")
    rest = ours - matmuls - medians["Adam step_ alone"]
    print(f"  breakdown: matmuls {matmuls:.3f} s + Adam {medians['Adam step_ alone']:.3f} s + the rest "
          f"{rest:.3f} s (gather, bias, ReLU, softmax, events; and the cache misses of running them in turn)")
    chunked_ratio(data, 2)
    spread = max((max(v) - min(v)) / statistics.median(v) for v in times.values())
    if spread > 0.2:
        print(f"  noisy: a variant's times spread over {spread:.0%} of its median (other load on the machine?)")


# ---------------------------------------------------------------------------------------------------------------
# Streaming overhead

def streaming(data: MnistData, repeat: int) -> None:
    """The same training consumed with an event every 5 batches and once per epoch."""
    often, rarely = NumpyEpochs(data, repeat, eval_every=5), NumpyEpochs(data, repeat, eval_every=10_000)
    times = {"every 5 batches": [], "once per epoch": []}
    for _ in range(repeat):
        times["every 5 batches"].append(often())
        times["once per epoch"].append(rarely())
    print("\nStreaming overhead (epoch time; the best epoch is the one least disturbed by other load):")
    for label, values in times.items():
        print(f"  events {label:16s} median {statistics.median(values):6.3f} s, best {min(values):6.3f} s "
              f"({len(data.y_train) / min(values):,.0f} digits/s)")
    ratio = min(times["every 5 batches"]) / min(times["once per epoch"]) - 1
    median_ratio = statistics.median(times["every 5 batches"]) / statistics.median(times["once per epoch"]) - 1
    verdict = "met" if abs(ratio) <= 0.10 else "NOT met"
    print(f"  target: within 10%: {verdict} ({ratio:+.1%} best to best; {median_ratio:+.1%} median to median)")


# ---------------------------------------------------------------------------------------------------------------
# Loss landscape

def landscape(runs: list) -> None:
    calls = []
    t0 = time.perf_counter()
    scape = loss_landscape(runs, resolution=25, n_samples=1000, progress=lambda done, total: calls.append(done))
    seconds = time.perf_counter() - t0
    labels = ", ".join(f"{label} ({len(path)} snapshots)" for label, path in scape.paths.items())
    print(f"\nLoss landscape, 25×25 grid over 1,000 training digits, paths of {labels}: {seconds:.2f} s "
          f"({len(calls)} progress calls)")
    print(f"  explained variance of the two directions: {scape.explained_variance[0]:.1%}, "
          f"{scape.explained_variance[1]:.1%}; loss on the grid {scape.loss.min():.3f} – {scape.loss.max():.3f}")
    print(f"  target: a few seconds at most: {'met' if seconds <= 5 else 'NOT met'}")


# ---------------------------------------------------------------------------------------------------------------
# The CNN (issue 17): accuracy with Adam, the classic comparison at Keras's defaults, time per epoch beside PyTorch

CNN_BATCH = 64


def cnn_accuracy(data: MnistData, epochs: int) -> None:
    """Adam, lr 1e-3, batch 64: ≥ 98.5% test accuracy after 2 epochs, ≥ 98.8% after 10."""
    print(f"\nCNN, Adam lr {LR}, batch {CNN_BATCH}, {epochs} epochs on {len(data.y_train):,} digits:")
    run = train(data, "adam", model="cnn", epochs=epochs, batch_size=CNN_BATCH, seed=0, lr=LR)
    for event in run:
        if event["epoch_end"]:
            print(f"  epoch {event['epoch']}: test accuracy {event['test_accuracy']:.2%}   test loss "
                  f"{event['test_loss']:.4f}   train loss {event['loss']:.4f}   {event['epoch_seconds']:.1f} s",
                  flush=True)
    accuracies = {e["epoch"]: e["test_accuracy"] for e in run.history if e["epoch_end"]}
    for after, target in ((2, 0.985), (10, 0.988)):
        if after in accuracies:
            verdict = "met" if accuracies[after] >= target else "NOT met"
            print(f"  target ≥ {target:.1%} after {after} epochs: {verdict} ({accuracies[after]:.2%})")


def cnn_classic(data: MnistData, epochs: int, names: list[str]) -> None:
    """The classic comparison: each optimizer at Keras's defaults, batch 64; validation accuracy and loss per epoch
    and total training time, as that comparison tabulates them."""
    from optviz.mnist.defaults import framework_hparams
    print(f"\nClassic comparison: CNN, Keras defaults, batch {CNN_BATCH}, {epochs} epochs on {len(data.y_train):,} "
          "digits (validation = the test digits)")
    for name in names:
        hparams, unsupported = framework_hparams("keras", name)
        run = train(data, name, model="cnn", epochs=epochs, batch_size=CNN_BATCH, seed=0, **hparams).run_to_end()
        ends = [e for e in run.history if e["epoch_end"]]
        accuracy = " ".join(f"{e['test_accuracy']:.2%}" for e in ends)
        loss = " ".join(f"{e['test_loss']:.4f}" for e in ends)
        note = f" (without Keras's {', '.join(unsupported)})" if unsupported else ""
        print(f"  {name:9s} accuracy {accuracy}\n  {'':9s} loss     {loss}\n  {'':9s} total training time "
              f"{run.history[-1]['seconds']:.1f} s{note}", flush=True)


class CnnBatches:
    """`batches` training steps of the CNN with Adam, batch 64, as the app runs them (events every 10 batches)."""

    def __init__(self, data: MnistData, batches: int):
        self.data, self.batches = data, batches
        self.run = train(data, "adam", model="cnn", epochs=10_000, batch_size=CNN_BATCH, lr=LR, eval_every=10,
                         snapshots=3)
        next(self.run)   # warm-up: compiled kernels loaded, workspaces and optimizer scratch allocated

    def __call__(self) -> float:
        t0 = time.perf_counter()
        for _ in range(self.batches // 10):
            next(self.run)
        return time.perf_counter() - t0


class TorchCnnBatches:
    """The same network (NCHW, PyTorch's layout), Adam lr 1e-3, batch 64, dropout on, CPU, in PyTorch."""

    def __init__(self, data: MnistData, batches: int, threads: int):
        import torch  # only here: optviz itself never imports torch
        nn = torch.nn
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.torch, self.batches = torch, batches
        self.x = torch.from_numpy(np.ascontiguousarray(data.x_train).reshape(-1, 1, 28, 28))
        self.y = torch.from_numpy(data.y_train.astype(np.int64))
        self.model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
                                   nn.Linear(5408, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.rng = np.random.default_rng(0)
        self.order = torch.from_numpy(self.rng.permutation(len(self.y)))
        self.position = 0
        self._steps(10)   # warm-up

    def _steps(self, n: int) -> None:
        torch = self.torch
        for _ in range(n):
            if self.position + CNN_BATCH > len(self.order):
                self.order, self.position = torch.from_numpy(self.rng.permutation(len(self.y))), 0
            idx = self.order[self.position:self.position + CNN_BATCH]
            self.position += CNN_BATCH
            self.opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(self.model(self.x[idx]), self.y[idx])
            loss.backward()
            self.opt.step()
            loss.item()   # the library reads every batch's loss too

    def __call__(self) -> float:
        t0 = time.perf_counter()
        self._steps(self.batches)
        return time.perf_counter() - t0


def cnn_epoch_times(data: MnistData, repeat: int, batches: int, with_torch: bool) -> None:
    """Seconds per epoch (60,000 digits), optviz's CNN beside PyTorch's, from `batches` steps at a time, the two
    measured in turn within each repetition so that a burst of load hits both alike."""
    threads = blas_threads()
    timers = {"optviz.mnist CNN": CnnBatches(data, batches)}
    if with_torch:
        try:
            timers["PyTorch CNN"] = TorchCnnBatches(data, batches, threads)
        except ImportError:
            print("PyTorch is not installed: its column is skipped (pip install torch==2.13.0)")
    times = {label: [] for label in timers}
    for _ in range(repeat):
        for label, timer in timers.items():
            times[label].append(timer() * math.ceil(60_000 / CNN_BATCH) / batches)
    print(f"\nCNN epoch time (60,000 digits), Adam lr {LR}, batch {CNN_BATCH}; from {batches} steps × {repeat} in "
          f"turn (NumPy's BLAS threads: {threads}; torch.set_num_threads({threads})):")
    for label, values in times.items():
        print(f"  {label:18s} median {statistics.median(values):6.1f} s   (min {min(values):.1f}, max "
              f"{max(values):.1f})")
    if "PyTorch CNN" in times:
        ratio = statistics.median(times["optviz.mnist CNN"]) / statistics.median(times["PyTorch CNN"])
        best = min(times["optviz.mnist CNN"]) / min(times["PyTorch CNN"])
        verdict = "met" if ratio <= 1 else "NOT met"
        print(f"  target: ≤ PyTorch's time: {verdict} ({ratio:.2f}× PyTorch's median; {best:.2f}× its best)")


def cnn_benchmarks(data: MnistData, args) -> None:
    if args.cnn_batches:
        cnn_epoch_times(data, args.repeat, args.cnn_batches, not args.no_torch)
    if args.cnn_epochs:
        cnn_accuracy(data, args.cnn_epochs)
    if args.classic:
        cnn_classic(data.subset(args.classic_digits), args.classic_epochs, args.classic.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--repeat", type=int, default=5, help="timed epochs per variant")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the accuracy runs")
    parser.add_argument("--quick", action="store_true", help="1 accuracy epoch, 2 timed epochs: a smoke run")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    parser.add_argument("--cnn", action="store_true", help="the CNN's benchmarks only (issue 17)")
    parser.add_argument("--cnn-epochs", type=int, default=2, help="epochs of the CNN's accuracy runs (0: none)")
    parser.add_argument("--cnn-batches", type=int, default=200, help="steps per timed CNN measurement (0: no timing)")
    parser.add_argument("--classic", default="", help="with --cnn: also the classic comparison at Keras's defaults "
                        "for these optimizers, e.g. adadelta,adagrad,adam,rmsprop,sgd")
    parser.add_argument("--classic-epochs", type=int, default=10, help="epochs of the classic comparison")
    parser.add_argument("--classic-digits", type=int, default=None, help="train the classic comparison on the first "
                        "this many training digits (all of them if not given)")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.repeat = 1, 2

    t0 = time.perf_counter()
    data = load_mnist(args.data_dir, download=False)
    print(f"Data: {data.source} (loaded and verified in {time.perf_counter() - t0:.2f} s)")
    if not data.is_full:
        print("  (not the full MNIST: the accuracy targets refer to the full data set)")
    if args.cnn:
        cnn_benchmarks(data, args)
        return
    runs = accuracy(data, args.epochs)
    landscape([runs[("default", "adam")], runs[("default", "momentum")]])
    epoch_times(data, args.repeat, not args.no_torch)
    streaming(data, args.repeat)


if __name__ == "__main__":
    main()
