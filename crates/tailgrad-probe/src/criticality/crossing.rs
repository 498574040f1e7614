//! Where a predicate that flips once on an interval flips: bisection, the root finder of the
//! mean-field edges (`chi_alpha = 1`), the authors' random-matrix edge (`r_0.99 = 1`) and the
//! inversion of that theory's monotone maps.

/// The x in `[lo, hi]` where `above(x)` changes value, to within `tol`; None when `above` has the
/// same value at both ends.
pub fn crossing(above: impl Fn(f64) -> bool, lo: f64, hi: f64, tol: f64) -> Option<f64> {
    let (mut a, mut b) = (lo, hi);
    let at_a = above(a);
    if at_a == above(b) {
        return None;
    }
    while b - a > tol {
        let m = 0.5 * (a + b);
        if above(m) == at_a { a = m } else { b = m }
    }
    Some(0.5 * (a + b))
}
