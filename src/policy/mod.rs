//! Policies over the model and the rendered objects (in progress).
