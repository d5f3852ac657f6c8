//! The security plane (in progress).

use super::{EnvCx, Object, PlaneRenderer};
use crate::diag::Diagnostics;
use crate::model::Plane;

pub struct SecurityPlane;

impl PlaneRenderer for SecurityPlane {
    fn plane(&self) -> Plane {
        Plane::Security
    }

    fn render_env(&self, _cx: &EnvCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        Ok(Vec::new())
    }
}
