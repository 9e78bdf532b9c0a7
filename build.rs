// Build script: sets the platform linker flags a Node addon needs (napi-build).
fn main() {
    #[cfg(feature = "node")]
    napi_build::setup();
}
