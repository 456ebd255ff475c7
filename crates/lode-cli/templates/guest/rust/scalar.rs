//! `{{function}}(lat1, lon1, lat2, lon2)`: the great-circle distance in kilometres between two
//! points given in degrees, on a sphere of the Earth's mean radius. A scalar function: Lode
//! calls it once per batch, and `scalar4` applies it to every row (nulls give null).
//!
//! Build: `lode guest build`. Test: `cargo test` (natively: the function is plain Rust).

use lode_guest::prelude::*;

/// The Earth's mean radius (IUGG), in kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The great-circle distance between two points, by the haversine formula.
pub fn {{function}}(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let half_d_phi = (lat2 - lat1).to_radians() / 2.0;
    let half_d_lambda = (lon2 - lon1).to_radians() / 2.0;
    let a = half_d_phi.sin().powi(2) + phi1.cos() * phi2.cos() * half_d_lambda.sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

/// What the module offers; Lode calls this once per instance.
fn module() -> Module {
    Module::new("{{name}}").scalar4(
        "{{function}}",
        "great-circle distance in km between (lat1, lon1) and (lat2, lon2), in degrees",
        ["lat1", "lon1", "lat2", "lon2"],
        {{function}},
    )
}

lode_guest::export!(module);

#[cfg(test)]
mod tests {
    #[test]
    fn berlin_to_paris_is_877_km() {
        let km = super::{{function}}(52.52, 13.405, 48.8566, 2.3522);
        assert!((km - 877.46).abs() < 0.01, "{km}");
    }

    #[test]
    fn a_point_is_0_km_from_itself() {
        assert_eq!(super::{{function}}(10.0, 20.0, 10.0, 20.0), 0.0);
    }
}
