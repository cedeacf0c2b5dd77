"""Write optviz/data/study_hours.csv, the synthetic "study hours" table, byte for byte (no download, no NumPy).

    python tools/make_study_hours.py            # rewrites the file; tests/test_tables.py checks it is unchanged

200 students, from Python's own random.Random(SEED) (its random() is reproducible across Python versions):

    hours  = 0.5 + 9.5·u₁, rounded to 0.1                       (u uniform in [0, 1))
    score  = 30 + 6·hours + 8·z, rounded, clipped to 0…100      (z = √(−2 ln(1 − u₂))·cos 2πu₃, Box–Muller)
    passed = 1 if score ≥ 60 else 0

so the least-squares line is near score = 30 + 6·hours, and a student passes half the time at about 5 hours.
Made up for optviz, dedicated to the public domain (CC0 1.0).
"""

import math
import random
from pathlib import Path

SEED = 31
STUDENTS = 200
OUT = Path(__file__).resolve().parents[1] / "optviz" / "data" / "study_hours.csv"


def rows() -> list[tuple[float, int, int]]:
    rng = random.Random(SEED)
    out = []
    for _ in range(STUDENTS):
        hours = round(0.5 + 9.5 * rng.random(), 1)
        z = math.sqrt(-2 * math.log(1 - rng.random())) * math.cos(2 * math.pi * rng.random())
        score = min(100, max(0, round(30 + 6 * hours + 8 * z)))
        out.append((hours, score, int(score >= 60)))
    return out


def text() -> str:
    return "hours,score,passed\n" + "".join(f"{h:.1f},{s},{p}\n" for h, s, p in rows())


if __name__ == "__main__":
    OUT.write_text(text(), newline="")
    print(f"wrote {OUT} ({STUDENTS} students)")
