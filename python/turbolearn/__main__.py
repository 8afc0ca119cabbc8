"""`python -m turbolearn`: the configuration, then a small kNN search timed against sklearn."""
import time

import numpy as np
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors

import turbolearn
from turbolearn.neighbors import NearestNeighbors


def best_time(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    turbolearn.show_config()
    rng = np.random.default_rng(42)
    X_train = rng.standard_normal((50_000, 32)).astype(np.float32)
    X_query = rng.standard_normal((2_000, 32)).astype(np.float32)
    print(f"\nkneighbors: {len(X_query):,} queries, {len(X_train):,} x 32 float32 points, k=10")
    ours = NearestNeighbors(n_neighbors=10).fit(X_train)
    theirs = SkNearestNeighbors(n_neighbors=10, algorithm="brute").fit(X_train)
    t_ours, (dist, ind) = best_time(lambda: ours.kneighbors(X_query))
    t_sk, (sk_dist, sk_ind) = best_time(lambda: theirs.kneighbors(X_query))
    agree = np.mean(ind == sk_ind)
    print(f"  turbolearn {t_ours * 1e3:8.1f} ms")
    print(f"  sklearn    {t_sk * 1e3:8.1f} ms   ({t_sk / t_ours:.1f}x slower)")
    print(f"  same neighbours as sklearn: {agree:.2%}; largest distance difference "
          f"{np.abs(dist - sk_dist).max():.1e}")


if __name__ == "__main__":
    main()
