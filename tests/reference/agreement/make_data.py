"""Generate the agreement reference inputs (deterministic; numpy default_rng seeds)."""

import numpy as np

rng = np.random.default_rng(20240501)
# two raters, 5-point ordinal scale 1..5, n = 60
truth = rng.integers(1, 6, size=60)
a = np.clip(truth + rng.integers(-1, 2, size=60), 1, 5)
b = np.clip(truth + rng.integers(-1, 2, size=60) * (rng.random(60) < 0.6), 1, 5)
np.savetxt("kappa_ordinal.csv", np.c_[a, b], fmt="%d", delimiter=",", header="a,b", comments="")
# unequally spaced scale {0, 1, 2, 4, 8}
scale = np.array([0, 1, 2, 4, 8])
np.savetxt("kappa_unequal.csv", np.c_[scale[a - 1], scale[b - 1]], fmt="%d", delimiter=",", header="a,b", comments="")
# ICC: 20 subjects x 4 raters
subj = rng.normal(10, 3, size=(20, 1))
rater = np.array([0.0, 0.5, -0.3, 1.0])[None, :]
icc = np.round(subj + rater + rng.normal(0, 1.2, size=(20, 4)), 2)
np.savetxt("icc.csv", icc, fmt="%.2f", delimiter=",", header="r1,r2,r3,r4", comments="")
