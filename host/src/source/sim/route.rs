//! Great-circle geometry for the simulator: where a flight is after flying
//! some distance from its origin towards its destination.

use vatswim_plugin_api::geo::distance_nm;

/// A great-circle route between two points.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    from: (f64, f64),
    to: (f64, f64),
    /// Length, nm.
    pub length_nm: f64,
}

impl Route {
    /// The route from (lat, lon) to (lat, lon).
    pub fn new(from: (f64, f64), to: (f64, f64)) -> Self {
        Route {
            from,
            to,
            length_nm: distance_nm(from.0, from.1, to.0, to.1),
        }
    }

    /// The point `flown_nm` along the route (clamped to its ends).
    pub fn point(&self, flown_nm: f64) -> (f64, f64) {
        if self.length_nm <= 0.0 {
            return self.from;
        }
        let f = (flown_nm / self.length_nm).clamp(0.0, 1.0);
        slerp(self.from, self.to, f)
    }

    /// The point `along_nm` along the route's great circle, before its
    /// origin (negative) or past its destination (beyond its length): where
    /// a flight taxis and rolls on the ground at either end.
    pub fn extended(&self, along_nm: f64) -> (f64, f64) {
        if self.length_nm <= 0.0 {
            return self.from;
        }
        slerp(self.from, self.to, along_nm / self.length_nm)
    }

    /// The initial bearing from the point `flown_nm` along to the destination.
    pub fn heading(&self, flown_nm: f64) -> f64 {
        let here = self.point(flown_nm.min(self.length_nm - 1.0).max(0.0));
        bearing(here, self.to)
    }
}

fn slerp(a: (f64, f64), b: (f64, f64), f: f64) -> (f64, f64) {
    let (p1, l1) = (a.0.to_radians(), a.1.to_radians());
    let (p2, l2) = (b.0.to_radians(), b.1.to_radians());
    let d = ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * ((l2 - l1) / 2.0).sin().powi(2);
    let delta = 2.0 * d.sqrt().asin();
    if delta.abs() < 1e-12 {
        return a;
    }
    let wa = ((1.0 - f) * delta).sin() / delta.sin();
    let wb = (f * delta).sin() / delta.sin();
    let x = wa * p1.cos() * l1.cos() + wb * p2.cos() * l2.cos();
    let y = wa * p1.cos() * l1.sin() + wb * p2.cos() * l2.sin();
    let z = wa * p1.sin() + wb * p2.sin();
    (
        z.atan2((x * x + y * y).sqrt()).to_degrees(),
        y.atan2(x).to_degrees(),
    )
}

fn bearing(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let dl = (b.1 - a.1).to_radians();
    let y = dl.sin() * p2.cos();
    let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
    (y.atan2(x).to_degrees() + 360.0) % 360.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_along_the_route_are_that_far_from_the_origin() {
        let jfk_lhr = Route::new((40.64, -73.78), (51.47, -0.46));
        assert!((jfk_lhr.length_nm - 2991.0).abs() < 10.0);
        let (lat, lon) = jfk_lhr.point(1000.0);
        assert!((distance_nm(40.64, -73.78, lat, lon) - 1000.0).abs() < 0.5);
        assert_eq!(jfk_lhr.point(9999.0), (51.47, -0.46));
        // JFK to London starts out to the north-east.
        assert!((40.0..60.0).contains(&jfk_lhr.heading(0.0)));
        // The ground at either end lies on the same circle, outside it.
        let (lat, lon) = jfk_lhr.extended(-2.0);
        assert!((distance_nm(40.64, -73.78, lat, lon) - 2.0).abs() < 0.01);
        assert!(distance_nm(lat, lon, 51.47, -0.46) > jfk_lhr.length_nm);
        let (lat, lon) = jfk_lhr.extended(jfk_lhr.length_nm + 1.5);
        assert!((distance_nm(51.47, -0.46, lat, lon) - 1.5).abs() < 0.01);
    }
}
