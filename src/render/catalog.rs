//! The catalog plane (in progress).

use super::{EnvCx, Object, PlaneRenderer};
use crate::diag::Diagnostics;
use crate::model::Plane;

pub struct DeveloperControlPlane;

impl PlaneRenderer for DeveloperControlPlane {
    fn plane(&self) -> Plane {
        Plane::DeveloperControl
    }

    fn render_env(&self, _cx: &EnvCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        Ok(Vec::new())
    }
}
