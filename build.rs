//! Rebuilds when any shipped Lua file or example changes: they are embedded with
//! `include_dir!`, which cargo cannot see through on its own.
fn main() {
    for dir in ["stdlib", "plugins", "scripts", "examples"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
