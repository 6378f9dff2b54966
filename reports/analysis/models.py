"""Models beyond what was measured. Everything here is a *projection*: it carries its model, its fit
quality and an interval, and every report labels it projected.

* **Growth fits** of a figure y against customers N: ``constant`` (y = a), ``log`` (a + b·ln N),
  ``linear`` (a + b·N) and ``nlogn`` (a + b·N ln N), least squares, chosen on the data by the
  small-sample Akaike criterion (AICc); R² says how well the chosen one fits. The customer count
  where y reaches a threshold comes with the range where the 95 % prediction band reaches it.
* **Universal Scalability Law** of throughput X against operators U:
  X(U) = λU / (1 + σ(U − 1) + κU(U − 1)); the peak is at U* = √((1 − σ)/κ).
* **Bytes per customer**: database size against customers, linear; the customers that fill a disk
  and the customers where the database outgrows the memory limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

FORMS = {
    "constant": None,
    "log": np.log,
    "linear": lambda n: n,
    "nlogn": lambda n: n * np.log(n),
}
HORIZON = 1000.0  # crossings are looked for up to this many times the largest N measured


@dataclass
class GrowthFit:
    form: str
    a: float
    b: float
    r2: float
    residual_sd: float
    n_points: int
    x_max: float
    _cov: np.ndarray  # (X'X)^-1 of the chosen form's design
    _dof: int

    def _design(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        f = FORMS[self.form]
        return np.column_stack([np.ones_like(x)] + ([] if f is None else [f(x)]))

    def predict(self, x) -> np.ndarray:
        coef = np.array([self.a] if self.form == "constant" else [self.a, self.b])
        return self._design(x) @ coef

    def band(self, x, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The prediction band (where a new measurement at x would fall)."""
        d = self._design(x)
        se = self.residual_sd * np.sqrt(1.0 + np.einsum("ij,jk,ik->i", d, self._cov, d))
        t = stats.t.ppf(0.5 + confidence / 2, max(self._dof, 1))
        y = self.predict(x)
        return y - t * se, y + t * se

    def crossing(self, threshold: float) -> dict | None:
        """Where the fit reaches ``threshold`` beyond the measured range: estimate and interval (the
        band's upper edge reaches it first, its lower edge last). None if the fit never rises to it
        within ``HORIZON`` × the largest N measured (``high`` None: not within that horizon)."""
        grid = np.geomspace(max(self.x_max, 1.0), self.x_max * HORIZON, 4000)
        y = self.predict(grid)
        low_band, high_band = self.band(grid)

        def first(values: np.ndarray) -> float | None:
            idx = np.flatnonzero(values >= threshold)
            return float(grid[idx[0]]) if len(idx) else None

        estimate = first(y)
        if estimate is None:
            return None
        return {"estimate": estimate, "low": first(high_band), "high": first(low_band)}

    def describe(self) -> dict:
        return {"model": self.form, "a": self.a, "b": self.b, "r2": self.r2, "residual_sd": self.residual_sd,
                "points": self.n_points}


def _aicc(rss: float, n: int, k: int) -> float:
    if n - k - 1 <= 0:
        return math.inf
    rss = max(rss, 1e-12)
    return n * math.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def fit_growth(x: Sequence[float], y: Sequence[float], forms: Sequence[str] = tuple(FORMS)) -> GrowthFit | None:
    """The best of ``forms`` for y(x) (see the module docstring); None with fewer than 2 points."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 2 or len(np.unique(x)) < 2:
        return None
    tss = float(((y - y.mean()) ** 2).sum())
    fits: list[tuple[float, int, GrowthFit]] = []
    for form in forms:
        f = FORMS[form]
        design = np.column_stack([np.ones_like(x)] + ([] if f is None else [f(x)]))
        k = design.shape[1]
        if n <= k:
            continue  # a line through two points says nothing
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        rss = float(((y - design @ coef) ** 2).sum())
        fits.append((rss, k, GrowthFit(
            form=form, a=float(coef[0]), b=float(coef[1]) if k > 1 else 0.0,
            r2=1.0 - rss / tss if tss > 0 else 1.0, residual_sd=math.sqrt(rss / (n - k)),
            n_points=n, x_max=float(x.max()), _cov=np.linalg.pinv(design.T @ design), _dof=n - k,
        )))
    if not fits:
        return None
    # AICc where every form has it (n > k + 1), else the plain AIC
    use_aicc = all(n - k - 1 > 0 for _, k, _ in fits)
    scored = [(_aicc(rss, n, k) if use_aicc else n * math.log(max(rss, 1e-12) / n) + 2 * k, fit)
              for rss, k, fit in fits]
    best = min(scored, key=lambda sf: sf[0])
    return best[1] if best else None


# --- USL ---------------------------------------------------------------------------------------------


def usl(u, lam: float, sigma: float, kappa: float):
    u = np.asarray(u, dtype=float)
    return lam * u / (1.0 + sigma * (u - 1.0) + kappa * u * (u - 1.0))


def fit_usl(operators: Sequence[float], throughput: Sequence[float]) -> dict | None:
    """σ (contention), κ (coherency), λ (throughput of one) and the peak; None with < 3 levels."""
    u = np.asarray(operators, dtype=float)
    x = np.asarray(throughput, dtype=float)
    ok = np.isfinite(u) & np.isfinite(x) & (u > 0) & (x > 0)
    u, x = u[ok], x[ok]
    if len(np.unique(u)) < 3:
        return None
    lam0 = float(np.max(x / u))
    try:
        (lam, sigma, kappa), _ = optimize.curve_fit(
            usl, u, x, p0=(lam0, 0.05, 0.001), bounds=([0, 0, 0], [np.inf, 1.0, 1.0]), maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    pred = usl(u, lam, sigma, kappa)
    tss = float(((x - x.mean()) ** 2).sum())
    r2 = 1.0 - float(((x - pred) ** 2).sum()) / tss if tss > 0 else 1.0
    if sigma >= 0.999 or r2 < 0:
        return None  # pinned at the bound or worse than a flat line: the points hold no USL shape
    peak_u = math.sqrt((1 - sigma) / kappa) if kappa > 0 and sigma < 1 else None
    return {
        "model": "usl", "lambda": float(lam), "sigma": float(sigma), "kappa": float(kappa), "r2": r2,
        "points": len(u),
        "peak_operators": peak_u,
        "peak_rps": float(usl(peak_u, lam, sigma, kappa)) if peak_u else None,
        "projected": True,
    }


# --- bytes per customer -------------------------------------------------------------------------------


def bytes_per_customer(customers: Sequence[float], db_bytes: Sequence[float]) -> dict | None:
    """Linear size model ``bytes = fixed + per_customer × N`` with a 95 % interval of the slope."""
    x = np.asarray(customers, dtype=float)
    y = np.asarray(db_bytes, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (y > 0)
    x, y = x[ok], y[ok]
    if len(np.unique(x)) < 2:
        return None
    res = stats.linregress(x, y)
    if res.slope <= 0:
        return None
    n = len(x)
    t = stats.t.ppf(0.975, n - 2) if n > 2 else None
    spread = t * res.stderr if t is not None and np.isfinite(res.stderr) else None
    return {"per_customer": float(res.slope), "fixed": float(res.intercept), "points": n,
            "per_customer_low": float(res.slope - spread) if spread is not None else None,
            "per_customer_high": float(res.slope + spread) if spread is not None else None}


def customers_for_bytes(size: dict, limit: float) -> dict | None:
    """The customers whose database reaches ``limit`` bytes: estimate, interval from the slope's."""
    if not size or not limit:
        return None

    def at(slope: float | None) -> float | None:
        if slope is None or slope <= 0:
            return None
        return max(0.0, (limit - size["fixed"]) / slope)

    return {"estimate": at(size["per_customer"]), "low": at(size.get("per_customer_high")),
            "high": at(size.get("per_customer_low")), "model": "linear bytes per customer", "projected": True}


__all__ = ["FORMS", "GrowthFit", "bytes_per_customer", "customers_for_bytes", "fit_growth", "fit_usl", "usl"]
