#!/usr/bin/env python3
#===- hadamard_ref.py - Independent reference for hqdm's Hadamard matrices -===#
#
# A numpy implementation of the conventions written down in docs/Hadamard.md
# and lib/Support/Hadamard.cpp, independent of the C++ code: raw_hadamard(n)
# returns H_raw(n) as an int64 array.
#
#   hadamard_ref.py --compare N < matrix.txt
#
# reads H_raw(N) as printed by `hqdm-hadamard --print-matrix N` ('+' = 1,
# '-' = -1, one row per line), checks that it equals raw_hadamard(N) and that
# H * H^T = N * I, and prints "match N".
#
#===----------------------------------------------------------------------===#

import argparse
import sys

import numpy as np

H2 = np.array([[1, 1], [1, -1]], dtype=np.int64)

# Monic irreducible moduli for the non-prime fields, low coefficients first:
# GF(25) = GF(5)[x]/(x^2 + 4x + 2), GF(27) = GF(3)[x]/(x^3 + 2x + 1).
MODULI = {25: (5, [2, 4]), 27: (3, [1, 2, 0])}

# Williamson first rows (symmetric, '+' = 1) for w = 39 (London, 2013) and
# w = 43 (Hall, Combinatorial Theory, 1983), as tabulated by SageMath.
WILLIAMSON = {
    39: ["+++--+-+-----+--++----++--+-----+-+--++",
         "+++--++-+---+-+--+----+--+-+---+-++--++",
         "++++---+--++----+-+--+-+----++--+---+++",
         "+---++-+-+-----+++-++-+++-----+-+-++---"],
    43: ["++---++++-+--+--++--------++--+--+-++++---+",
         "+++-+-++--+-+-++++-+----+-++++-+-+--++-+-++",
         "++-++++++----+-+--++-++-++--+-+----++++++-+",
         "+---++--++++-+-+++-++--++-+++-+-++++--++---"],
}

# Base order -> (construction, parameter), smallest K first.
BASES = {1: ("trivial", 0), 12: ("paley1", 11), 20: ("paley1", 19),
         28: ("paley1", 27), 36: ("paley2", 17), 40: ("double", 20),
         52: ("paley2", 25), 60: ("paley1", 59), 108: ("paley1", 107),
         140: ("paley1", 139), 156: ("williamson", 39),
         172: ("williamson", 43)}


def jacobsthal(q):
    """Q[i][j] = chi(a_i - a_j) over GF(q), elements indexed by base-p digits
    (digit 0 = coefficient of x^0)."""
    p, low = MODULI.get(q, (q, [0]))
    k = len(low)
    digits = np.array([[(i // p**d) % p for d in range(k)] for i in range(q)])
    # Multiplication by x is the companion matrix of the modulus.
    times_x = np.zeros((k, k), dtype=np.int64)
    times_x[1:, :-1] = np.eye(k - 1, dtype=np.int64)
    times_x[:, -1] = [-c % p for c in low]
    powers = [np.eye(k, dtype=np.int64)]
    for _ in range(k - 1):
        powers.append(times_x @ powers[-1] % p)
    weights = p ** np.arange(k)
    squares = {int((sum(a[d] * powers[d] for d in range(k)) @ a % p) @ weights)
               for a in digits[1:]}
    chi = np.array([0] + [1 if i in squares else -1 for i in range(1, q)])
    diff = (digits[:, None, :] - digits[None, :, :]) % p
    return chi[diff @ weights]


def bordered(q, sign):
    """[[0, 1^T], [sign * 1, Q]]"""
    m = np.zeros((q + 1, q + 1), dtype=np.int64)
    m[0, 1:], m[1:, 0], m[1:, 1:] = 1, sign, jacobsthal(q)
    return m


def williamson(w):
    a, b, c, d = [np.array([[1 if s[(j - i) % w] == "+" else -1
                             for j in range(w)] for i in range(w)])
                  for s in WILLIAMSON[w]]
    return np.block([[a, b, c, d], [-b, a, -d, c], [-c, d, a, -b],
                     [-d, -c, b, a]])


def base_hadamard(k):
    kind, param = BASES[k]
    if kind == "trivial":
        return np.ones((1, 1), dtype=np.int64)
    if kind == "paley1":
        return np.eye(k, dtype=np.int64) + bordered(param, -1)
    if kind == "paley2":
        return (np.kron(bordered(param, 1), H2) +
                np.kron(np.eye(param + 1, dtype=np.int64), [[1, -1], [-1, -1]]))
    if kind == "double":
        return np.kron(H2, base_hadamard(param))
    return williamson(param)


def raw_hadamard(n):
    """H_raw(n) = H_raw(K) (x) Sylvester(n / K), K the smallest base order
    leaving a power of two."""
    for k in sorted(BASES):
        if n > 0 and n % k == 0 and (n // k) & (n // k - 1) == 0:
            sylvester = np.ones((1, 1), dtype=np.int64)
            while len(sylvester) < n // k:
                sylvester = np.kron(H2, sylvester)
            return np.kron(base_hadamard(k), sylvester).astype(np.int64)
    raise ValueError(f"no Hadamard construction serves order {n}")


def main():
    parser = argparse.ArgumentParser(
        description="Compare a printed H_raw(N) with the reference.")
    parser.add_argument("--compare", type=int, required=True, metavar="N")
    n = parser.parse_args().compare
    rows = [line.strip() for line in sys.stdin if line.strip()]
    got = np.array([[1 if c == "+" else -1 for c in row] for row in rows],
                   dtype=np.int64)
    expected = raw_hadamard(n)
    if got.shape != expected.shape or not np.array_equal(got, expected):
        bad = (np.argwhere(got != expected)[:5].tolist()
               if got.shape == expected.shape else got.shape)
        sys.exit(f"mismatch {n}: {bad}")
    # Entries are +-1 and n is small, so float64 products are exact.
    gram = expected.astype(np.float64) @ expected.T.astype(np.float64)
    if not np.array_equal(gram, n * np.eye(n)):
        sys.exit(f"not Hadamard {n}")
    print(f"match {n}")


if __name__ == "__main__":
    main()
