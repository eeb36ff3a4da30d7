//! The project's tasks as a library, so that the integration tests start the
//! emulator through the same code as `cargo xtask emulator up`.

pub mod bench;
pub mod build;
pub mod demo;
pub mod emulator;
pub mod paths;
pub mod test;
pub mod tls;
