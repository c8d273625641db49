//! Subscription filter: flights within `radius_nm` nautical miles of a
//! point (great-circle distance).
//!
//! Params: `{"lat": 40.64, "lon": -73.78, "radius_nm": 50}`. A subject
//! with no position matches nothing.

use vatswim_plugin_api::{Description, SubjectView, SubscriptionFilter};

/// Mean Earth radius, nautical miles.
const EARTH_RADIUS_NM: f64 = 3_440.065;

/// The filter plugin; it has no configuration.
pub struct Nearby;

/// One subscriber's circle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    lat: f64,
    lon: f64,
    radius_nm: f64,
    /// `sin²(d/2R)` at the radius, so matching needs no inverse trig.
    haversine_limit: f64,
}

impl Circle {
    /// Whether a position lies within the circle.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        if !lat.is_finite() || !lon.is_finite() {
            return false;
        }
        let (p1, p2) = (self.lat.to_radians(), lat.to_radians());
        let dp = p2 - p1;
        let dl = (lon - self.lon).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        h <= self.haversine_limit
    }

    /// The radius, nm.
    pub fn radius_nm(&self) -> f64 {
        self.radius_nm
    }
}

/// Parses `{"lat", "lon", "radius_nm"}`.
pub fn compile_circle(params: &serde_json::Value) -> Result<Circle, String> {
    let number = |name: &str, min: f64, max: f64| -> Result<f64, String> {
        let x = params
            .get(name)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| format!("params need `{name}` as a number (lat, lon, radius_nm)"))?;
        if !(min..=max).contains(&x) {
            return Err(format!("`{name}` {x} is outside {min}..{max}"));
        }
        Ok(x)
    };
    let lat = number("lat", -90.0, 90.0)?;
    let lon = number("lon", -180.0, 180.0)?;
    let radius_nm = number("radius_nm", 0.0, 10_800.0)?;
    let half_angle = (radius_nm / EARTH_RADIUS_NM / 2.0).min(std::f64::consts::FRAC_PI_2);
    Ok(Circle {
        lat,
        lon,
        radius_nm,
        haversine_limit: half_angle.sin().powi(2),
    })
}

impl SubscriptionFilter for Nearby {
    type Compiled = Circle;

    fn describe() -> Description {
        Description::new(
            "nearby",
            env!("CARGO_PKG_VERSION"),
            "flights within a radius (nm) of a point",
        )
    }

    fn init(_config: serde_json::Value) -> Result<Self, String> {
        Ok(Nearby)
    }

    fn compile(&self, params: serde_json::Value) -> Result<Circle, String> {
        compile_circle(&params)
    }

    fn matches(&self, circle: &Circle, subject: &SubjectView<'_>) -> bool {
        circle.contains(subject.lat, subject.lon)
    }
}

vatswim_plugin_api::export_subscription_filter!(Nearby);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_circle_holds_what_lies_within_its_radius() {
        // JFK to LGA is ~9.4 nm; JFK to BOS ~162 nm.
        let jfk =
            compile_circle(&serde_json::json!({"lat": 40.6413, "lon": -73.7781, "radius_nm": 50}))
                .unwrap();
        assert!(jfk.contains(40.7769, -73.8740));
        assert!(!jfk.contains(42.3656, -71.0096));
        assert!(!jfk.contains(f64::NAN, 0.0));
        let wide =
            compile_circle(&serde_json::json!({"lat": 40.6413, "lon": -73.7781, "radius_nm": 170}))
                .unwrap();
        assert!(wide.contains(42.3656, -71.0096));
    }

    #[test]
    fn bad_params_are_named() {
        let err = |v| compile_circle(&v).unwrap_err();
        assert!(err(serde_json::json!({"lat": 1, "lon": 2})).contains("radius_nm"));
        assert!(err(serde_json::json!({"lat": 91, "lon": 2, "radius_nm": 5})).contains("`lat` 91"));
    }
}
