//! platc diff (in progress).
