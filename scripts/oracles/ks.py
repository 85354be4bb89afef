#!/usr/bin/env python3
"""Reference values for the unit tests in src/drift/ks.rs (two-sample Kolmogorov-Smirnov).

Computes scipy.stats.ks_2samp(reference, current) (alternative='two-sided',
method='auto') for each test case and prints the statistic and p-value as Rust
literals, ready to paste into the `CASES` table of the tests; the values there came
from scipy 1.17.1 (numpy 2.4.6). The samples are built here exactly as the Rust tests
build them: small ones are written out, large ones come from the integer formula
((i * mul) % modulus) / modulus, optionally bent by u + c * u * (1 - u), which both
languages evaluate with the same IEEE operations in the same order.

Each case is also labelled with the branch scipy takes (exact: n1 == n2 closed form or
"inside" lattice recursion; exact failing over to asymptotic; asymptotic kstwo.sf and
the method _kolmogn picks), so a change of branch in a future scipy shows up here.

    pip install scipy numpy
    python3 scripts/oracles/ks.py
"""
import math
import warnings

import numpy as np
import scipy
import scipy.special
from scipy import stats
from scipy.stats._stats_py import _attempt_exact_2kssamp


def formula(n, mul, modulus, c=0.0):
    u = [((i * mul) % modulus) / modulus for i in range(n)]
    return np.array([v + c * v * (1.0 - v) for v in u] if c else u, dtype=float)


# (name, reference, current): keep in step with `cases()` in src/drift/ks.rs.
SMALL_A = [0.61, 0.12, 0.98, 0.33, 0.47, 0.05, 0.76, 0.29, 0.84, 0.52, 0.18, 0.69]
SMALL_B = [0.71, 0.44, 0.93, 0.58, 0.99, 0.36, 0.81, 0.65, 0.27, 0.88, 0.62, 0.77]
UNEQ_A = [2.3, -0.4, 1.1, 0.8, 3.5, -1.2, 0.1, 2.9, 1.7, 0.5, -0.8, 2.2, 1.4, 0.9, 4.1]
UNEQ_B = [1.9, 3.3, 2.6, 4.4, 0.7, 3.8, 2.8, 5.0, 3.1]
TIES_A = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3]
TIES_B = [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5, 2, 3]
CASES = [
    ("equal sizes, exact", SMALL_A, SMALL_B),
    ("unequal sizes, exact", UNEQ_A, UNEQ_B),
    ("ties, exact", TIES_A, TIES_B),
    ("7 vs 7, D = 1/7: exact fails, falls back to asymptotic", list(range(7)), [i + 0.5 for i in range(7)]),
    ("identical small samples", SMALL_A, SMALL_A),
    ("disjoint 60 vs 45, tiny exact p", list(range(60)), [i + 100.0 for i in range(45)]),
    ("disjoint 600 vs 500, subnormal exact p", list(range(600)), [i + 1000.0 for i in range(500)]),
    ("disjoint 600 vs 600, exact p underflows to 0", list(range(600)), [i + 1000.0 for i in range(600)]),
    ("10000 vs 7000, largest exact size", formula(10000, 7919, 10007), formula(7000, 7927, 10009, 0.05)),
    ("10001 vs 7000, smallest asymptotic size", formula(10001, 7919, 10007), formula(7000, 7927, 10009, 0.05)),
    ("20000 vs 15000, c = 0 (Durbin matrix)", formula(20000, 7919, 10007), formula(15000, 7927, 10009)),
    ("20000 vs 15000, c = 0.02 (Pelz-Good)", formula(20000, 7919, 10007), formula(15000, 7927, 10009, 0.02)),
    ("20000 vs 15000, c = 0.05 (Pelz-Good)", formula(20000, 7919, 10007), formula(15000, 7927, 10009, 0.05)),
    ("20000 vs 15000, c = 0.1 (Smirnov)", formula(20000, 7919, 10007), formula(15000, 7927, 10009, 0.1)),
    ("20000 vs 15000, c = 0.5 (Smirnov, tiny p)", formula(20000, 7919, 10007), formula(15000, 7927, 10009, 0.5)),
    ("20000 vs 15000, c = 1 (p = 0)", formula(20000, 7919, 10007), formula(15000, 7927, 10009, 1.0)),
    ("100000 vs 100000, c = 0.04 (Smirnov)", formula(100000, 7919, 100003), formula(100000, 7927, 100019, 0.04)),
    ("identical large samples", formula(20000, 7919, 10007), formula(20000, 7919, 10007)),
    ("20000 vs 50, asymptotic with n <= 140", formula(20000, 7919, 10007), formula(50, 7927, 10009, 0.6)),
    ("20000 vs 120, asymptotic with n <= 140", formula(20000, 7919, 10007), formula(120, 7927, 10009, 0.1)),
    ("infinities", [-math.inf, 0.0, math.inf], [math.inf, math.inf]),
    ("one value each", [0.0], [1.0]),
    ("one equal value each", [1.0], [1.0]),
]


def branch(a, b):
    """Which of scipy's branches ks_2samp(method='auto') takes for these samples."""
    n1, n2 = len(a), len(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = stats.ks_2samp(a, b).statistic
    if max(n1, n2) <= 10000:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok, d, _ = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
        if ok:
            return "exact, n1 == n2" if n1 == n2 else "exact, inside method"
        prefix = "exact failed -> "
    else:
        prefix = ""
    n = int(np.round(n1 * n2 / (n1 + n2)))
    x, t = float(d), n * float(d)
    if x <= 0.5 / n:
        how = "below support (1)"
    elif t <= 1 or t >= n - 1:
        how = "Ruben-Gambino"
    elif x >= 0.5 or (n <= 140 and n * x * x > 4) or (n > 140 and 2.2 <= n * x * x < 370):
        how = "2 * smirnov"
    elif n > 140 and n * x * x >= 370:
        how = "0"
    elif n * x * x <= 0.754693 if n <= 140 else n <= 100000 and n * x ** 1.5 <= 1.4:
        how = "Durbin matrix"
    elif n <= 140:
        how = "Pomeranz"
    else:
        how = "Pelz-Good"
    return f"{prefix}asymptotic kstwo.sf(D, {n}): {how}"


# (n, x) for kstwo.sf, at least one per method of _kolmogn, including those the sample cases
# above do not reach (n <= 140 comes from lopsided sizes such as 20000 vs 50).
KSTWO = [
    (50, 0.015), (500, 0.0019),
    (50, 0.981), (300, 0.99668),
    (50, 0.6), (5000, 0.55),
    (50, 0.05), (120, 0.07),
    (50, 0.2), (101, 0.19738847155870137), (140, 0.16),
    (50, 0.3), (140, 0.4),
    (141, 0.037), (5000, 0.0008), (100000, 0.0005),
    (300, 0.05), (5000, 0.015), (200000, 0.002), (150000, 0.0001),
    (5000, 0.03), (50000, 0.01), (999999, 0.002), (2000000, 0.0015),
    (5000, 0.3),
]


def kolmogn_method(n, x):
    """The method scipy's _kolmogn(n, x, cdf=False) uses (x inside kstwo's support)."""
    t, nx2 = n * x, n * x * x
    if t <= 1:
        return "ruben-gambino"
    if t >= n - 1:
        return "ruben-gambino"
    if x >= 0.5:
        return "smirnov"
    if n <= 140:
        return "dmtw" if nx2 <= 0.754693 else "pomeranz" if nx2 <= 4 else "smirnov"
    if nx2 >= 370:
        return "zero"
    if nx2 >= 2.2:
        return "smirnov"
    return "dmtw" if n <= 100000 and n * x ** 1.5 <= 1.4 else "pelz-good"


# (n, x) for scipy.special.smirnov itself, where kstwo does not isolate it: the upper sum
# (few terms, x <= 0.5/sqrt(n)) and x <= 1/n.
SMIRNOV = [(20, 0.1), (400, 0.02), (1000, 0.0009), (1000, 0.015), (7, 0.5), (12, 0.95)]


def main():
    print(f"// scipy {scipy.__version__}, numpy {np.__version__}")
    for name, a, b in CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = stats.ks_2samp(np.asarray(a, float), np.asarray(b, float))
        print(f"// {name}: {branch(np.asarray(a, float), np.asarray(b, float))}")
        print(f"({float(r.statistic)!r}, {float(r.pvalue)!r}),")
    print("// (n, x, kstwo.sf(x, n), kstwo.cdf(x, n), method of _kolmogn for the sf)")
    for n, x in KSTWO:
        sf, cdf = float(stats.kstwo.sf(x, n)), float(stats.kstwo.cdf(x, n))
        print(f'({n}, {x!r}, {sf!r}, {cdf!r}, "{kolmogn_method(n, x)}"),')
    print("// scipy.special.smirnov(n, x): (n, x, sf)")
    for n, x in SMIRNOV:
        print(f"({n}, {x!r}, {float(scipy.special.smirnov(n, x))!r}),")


if __name__ == "__main__":
    main()
