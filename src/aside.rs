//! Large values dropped on a thread of their own. Freeing a build's models and trees (hundreds
//! of thousands of small allocations) takes milliseconds a build otherwise spends waiting with a
//! core idle: at a stage's serial tail, or after the last record is written, when only process
//! exit is left. Nothing observable depends on when the memory goes back.

/// Drops `value` on a new thread. The thread is not joined: a process that exits first loses
/// nothing but the work of freeing. When no thread can be started, the closure holding the
/// value is dropped here, as if this were `drop`.
pub fn drop_aside<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("platc-drop".into())
        .spawn(move || drop(value));
}
