"""The generated JavaScript engine in node: 6 optimizers × 1,000 steps on Rosenbrock, everything recorded.

    python benchmarks/bench_js_engine.py [--repeat 300]

Issue #27's budget for the race under the reader's finger is 2 ms (the median in node). The race is
optviz/ui/race_viewer/engine.generated.js's `race` (each rule and prepare translated from optviz/optimizers.py,
Rosenbrock's gradient and value printed by SymPy; path, loss, gradients and state recorded at every step), timed in
one node process beside two references timed alike in the same process:

- the same loop with a trivial rule (θ ← θ − α·g, no state, no constants): what the loop, the surface and the
  recording cost on their own;
- a hand-written JavaScript race of the six textbook rules (the loop fused with each formula, as a hand-kept twin
  would be written): the floor the generated code is measured against.

Also printed: the module's size, and the Python engine's time for the same race (optviz.race, compiled, warm).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
import optviz  # noqa: E402
from benchmarks.common import RACE_DEFAULTS  # noqa: E402
from optviz.jsgen import TARGET  # noqa: E402

STEPS = 1000
START = (-1.5, 2.0)

SCRIPT = """\
import { optimizer, race, surface } from %(module)s;
const [LRS, STEPS, START, REPEAT] = %(args)s;
const surf = surface("rosenbrock");

// the same loop, a trivial rule: θ ← θ − α·g
const trivialSpec = { name: "trivial", hyper: [], state: [], shared: null, fill: {},
                      prepare: (h, t, q) => [null, q], rule: (p, g, s, lr, c) => [p - lr * g, s] };
const trivial = Object.keys(LRS).map((name) => ({ spec: trivialSpec, h: new Float64Array(0), rule: trivialSpec.rule,
                                                  state: [], arrays: [], sign: 1, lr: LRS[name] }));

// the six textbook rules, each fused with the loop by hand; the same recording (path, loss, gradient, state)
function handWritten(name, lr) {
  const b1 = 0.9, b2 = 0.999, mu = 0.9, alpha = 0.99;
  const k = { adam: 2, sgd: 0, momentum: 1, nesterov: 1, rmsprop: 1, adagrad: 1 }[name];
  const path = new Float64Array(2 * (STEPS + 1)), loss = new Float64Array(STEPS + 1);
  const grad = new Float64Array(2 * STEPS), traces = Array.from({ length: k }, () => new Float64Array(2 * STEPS));
  const m = new Float64Array(2), v = new Float64Array(2), p = Float64Array.from(START);
  let bc1 = 1, bc2 = 1;
  const rule = {  // one coordinate i with gradient g at step t
    adam: (i, g) => {
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      p[i] -= lr * (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + 1e-8);
    },
    sgd: (i, g) => { p[i] -= lr * g; },
    momentum: (i, g, t) => { m[i] = t === 1 ? g : mu * m[i] + g; p[i] -= lr * m[i]; },
    nesterov: (i, g, t) => { m[i] = t === 1 ? g : mu * m[i] + g; p[i] -= lr * (g + mu * m[i]); },
    rmsprop: (i, g) => { m[i] = alpha * m[i] + (1 - alpha) * g * g; p[i] -= lr * g / (Math.sqrt(m[i]) + 1e-8); },
    adagrad: (i, g) => { m[i] += g * g; p[i] -= lr * g / (Math.sqrt(m[i]) + 1e-10); },
  }[name];
  path[0] = p[0];
  path[1] = p[1];
  for (let t = 1; t <= STEPS; t++) {
    const r = p[1] - p[0] * p[0], gx = -2 * (1 - p[0]) - 400 * p[0] * r, gy = 200 * r;
    bc1 = 1 - Math.pow(b1, t);
    bc2 = 1 - Math.pow(b2, t);
    rule(0, gx, t);
    rule(1, gy, t);
    grad[2 * t - 2] = gx;
    grad[2 * t - 1] = gy;
    for (let j = 0; j < k; j++) {
      const s = j === 0 ? m : v;
      traces[j][2 * t - 2] = s[0];
      traces[j][2 * t - 1] = s[1];
    }
    path[2 * t] = p[0];
    path[2 * t + 1] = p[1];
  }
  for (let t = 0; t <= STEPS; t++) loss[t] = surf.value(path[2 * t], path[2 * t + 1]);
  return { path, loss, grad, traces };
}

const opts = Object.entries(LRS).map(([name, lr]) => optimizer(name, { lr }));
const ways = {
  engine: () => race(opts, surf, START, STEPS),
  trivial: () => race(trivial, surf, START, STEPS),
  handWritten: () => Object.entries(LRS).map(([name, lr]) => handWritten(name, lr)),
};
const times = Object.fromEntries(Object.keys(ways).map((way) => [way, []]));
for (let i = 0; i < 50; i++) for (const way of Object.values(ways)) way();  // warm up: V8 optimizes the hot code
for (let i = 0; i < REPEAT; i++) {
  for (const [name, way] of Object.entries(ways)) {  // interleaved, so that a busy moment hits every way alike
    const t0 = performance.now();
    way();
    times[name].push(performance.now() - t0);
  }
}
console.log(JSON.stringify({ times }));
"""


def python_race_ms(repeat: int) -> float:
    """The median time of optviz.race on the same race (its fused loops compiled or loaded before timing)."""
    entries = [optviz.Entry(name, {"lr": lr}) for name, lr in RACE_DEFAULTS.items()]
    optviz.race("rosenbrock", entries, START, STEPS)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        optviz.race("rosenbrock", entries, START, STEPS)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    node = shutil.which("node")
    if node is None:
        sys.exit("node is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.mjs"
        script.write_text(SCRIPT % {"module": json.dumps(TARGET.as_uri()),
                                    "args": json.dumps([RACE_DEFAULTS, STEPS, START, args.repeat])})
        out = json.loads(subprocess.run([node, str(script)], capture_output=True, text=True, check=True).stdout)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    median = {way: statistics.median(times) for way, times in out["times"].items()}
    low = {way: sorted(times)[len(times) // 10] for way, times in out["times"].items()}
    source = TARGET.read_bytes()

    print(f"node {version}: {len(RACE_DEFAULTS)} optimizers × {STEPS:,} steps on Rosenbrock, everything recorded, "
          f"median (10th percentile) of {args.repeat}")
    print(f"  generated engine (race)                 {median['engine']:6.2f} ms ({low['engine']:.2f})   budget 2 ms")
    print(f"  the same loop, trivial rule             {median['trivial']:6.2f} ms ({low['trivial']:.2f})")
    print(f"  hand-written fused textbook rules       {median['handWritten']:6.2f} ms ({low['handWritten']:.2f})")
    print(f"  generated / hand-written                {median['engine'] / median['handWritten']:6.2f}×")
    print(f"  Python engine (optviz.race, compiled)   {python_race_ms(20):6.2f} ms")
    print(f"module {TARGET.name}: {len(source) / 1000:.1f} kB ({len(gzip.compress(source)) / 1000:.1f} kB gzipped)")


if __name__ == "__main__":
    main()
