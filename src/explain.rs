//! platc explain (in progress).
