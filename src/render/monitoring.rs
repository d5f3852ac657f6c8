//! The monitoring plane (in progress).

use super::{EnvCx, Object, PlaneRenderer};
use crate::diag::Diagnostics;
use crate::model::Plane;

pub struct MonitoringPlane;

impl PlaneRenderer for MonitoringPlane {
    fn plane(&self) -> Plane {
        Plane::Monitoring
    }

    fn render_env(&self, _cx: &EnvCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        Ok(Vec::new())
    }
}
