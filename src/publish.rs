//! platc publish (in progress).
