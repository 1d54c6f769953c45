//! Loop devices against the real kernel (tests run as root): attach, reuse,
//! detach, refusals that change nothing, the Lua binding.

#[path = "common/hosts.rs"]
mod hosts;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use apex::loopdev::{self, TempLoop};

use hosts::*;

// ---------- loop devices ----------

/// Detaches on drop, so a failing assertion leaves no device behind.
struct Detach(Option<PathBuf>);

impl Drop for Detach {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = loopdev::detach_loop_device(&d);
        }
    }
}

/// The kernel's loop devices are one pool: a test that frees a device and
/// asks for that exact one again must not race the others of this binary
/// (they run on parallel threads), so each test holds this while it runs.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn sysfs(device: &Path, file: &str) -> String {
    let name = device.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_to_string(format!("/sys/block/{name}/{file}"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn loop_device_attach_reuse_detach() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.img");
    let size = 64 << 20;
    let first = loopdev::create_loop_device(&file, size, None).expect("attach (tests run as root)");
    let _guard = Detach(Some(first.device.clone()));
    assert!(first.created_file && !first.reused);
    assert!(first.device.to_string_lossy().starts_with("/dev/loop"));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.len(), size);
    assert!(
        std::os::unix::fs::MetadataExt::blocks(&meta) * 512 < 1 << 20,
        "backing file is not sparse"
    );
    assert_eq!(
        sysfs(&first.device, "size").parse::<u64>().unwrap() * 512,
        size
    );
    assert_eq!(
        sysfs(&first.device, "loop/backing_file"),
        std::fs::canonicalize(&file).unwrap().display().to_string()
    );

    let again = loopdev::create_loop_device(&file, size, None).unwrap();
    assert_eq!(again.device, first.device);
    assert!(again.reused && !again.created_file);
    assert_eq!(
        loopdev::find_attached(&file).unwrap(),
        Some(first.device.clone())
    );

    let other = dir.path().join("other.img");
    let wrong =
        loopdev::create_loop_device(&file, size, Some(Path::new("/dev/loop999999"))).unwrap_err();
    assert!(wrong.to_string().contains("already attached"), "{wrong:#}");
    let shrink = loopdev::create_loop_device(&file, size / 2, None).unwrap_err();
    assert!(
        shrink.to_string().contains("refusing to shrink"),
        "{shrink:#}"
    );
    assert!(!other.exists());

    assert!(loopdev::detach_loop_device(&first.device).unwrap());
    let start = Instant::now();
    while !sysfs(&first.device, "loop/backing_file").is_empty()
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        sysfs(&first.device, "loop/backing_file"),
        "",
        "still attached after detach"
    );
    assert_eq!(loopdev::find_attached(&file).unwrap(), None);
    assert!(
        !loopdev::detach_loop_device(&first.device).unwrap(),
        "second detach should report not attached"
    );

    // Asking for that exact device (as Ceph settings do) attaches there.
    let named = loopdev::create_loop_device(&file, size, Some(&first.device)).unwrap();
    let _guard2 = Detach(Some(named.device.clone()));
    assert_eq!(
        (named.device.as_path(), named.reused),
        (first.device.as_path(), false)
    );
    assert!(loopdev::detach_loop_device(&named.device).unwrap());
}

#[test]
fn loop_device_refusals_change_nothing() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    // Sizes a loop device cannot have: refused before any file or directory exists.
    for (size, says) in [
        (1u64, "multiple of 512"),
        (0, "multiple of 512"),
        (513, "multiple of 512"),
        (100 << 40, "at most"),
    ] {
        let file = dir.path().join(format!("new-{size}/data.img"));
        let err = loopdev::create_loop_device(&file, size, None).unwrap_err();
        assert!(format!("{err:#}").contains(says), "size {size}: {err:#}");
        assert!(
            !file.parent().unwrap().exists(),
            "size {size} left {}",
            file.display()
        );
    }
    // A size the filesystem may refuse (ext4 files end just below 16 TiB):
    // either attached, or nothing left behind.
    let edge = dir.path().join("edge/edge.img");
    match loopdev::create_loop_device(&edge, (16 << 40) - 512, None) {
        Ok(d) => {
            let _g = Detach(Some(d.device.clone()));
            assert!(loopdev::detach_loop_device(&d.device).unwrap());
        }
        Err(e) => {
            assert!(format!("{e:#}").contains("cannot size"), "{e:#}");
            assert!(!dir.path().join("edge").exists(), "failed, but left a file");
        }
    }

    // The file is attached with 16 MiB: asking for 32 MiB is refused and the file keeps its size.
    let file = dir.path().join("data.img");
    let first = loopdev::create_loop_device(&file, 16 << 20, None).unwrap();
    let _guard = Detach(Some(first.device.clone()));
    let err = loopdev::create_loop_device(&file, 32 << 20, None).unwrap_err();
    assert!(format!("{err:#}").contains("attached"), "{err:#}");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 16 << 20);
    assert_eq!(
        sysfs(&first.device, "size").parse::<u64>().unwrap() * 512,
        16 << 20
    );

    // That device is busy: another file asking for it gets no backing file...
    let other = dir.path().join("other.img");
    let err = loopdev::create_loop_device(&other, 8 << 20, Some(&first.device)).unwrap_err();
    assert!(format!("{err:#}").contains("busy"), "{err:#}");
    assert!(!other.exists(), "a refused request left a new backing file");
    // ...and an existing smaller one is not grown.
    std::fs::write(&other, vec![7u8; 4096]).unwrap();
    let err = loopdev::create_loop_device(&other, 8 << 20, Some(&first.device)).unwrap_err();
    assert!(format!("{err:#}").contains("busy"), "{err:#}");
    assert_eq!(std::fs::read(&other).unwrap(), vec![7u8; 4096]);

    // A device that does not exist is named as such, not blamed on the kernel module.
    let missing = Path::new("/dev/loop987654");
    assert!(!missing.exists());
    let err = loopdev::detach_loop_device(missing).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("does not exist") && !msg.contains("kernel module"),
        "{msg}"
    );
}

#[test]
fn loop_device_bad_input_is_explained() {
    let _serial = one_at_a_time();
    let err = loopdev::create_loop_device(
        Path::new("/tmp/apex-x.img"),
        1024,
        Some(Path::new("/dev/sda")),
    )
    .unwrap_err();
    assert!(err.to_string().contains("expected /dev/loopN"), "{err:#}");
    let err = loopdev::loop_unit(Path::new("/dev/loop3"), Path::new("relative.img")).unwrap_err();
    assert!(err.to_string().contains("absolute"), "{err:#}");
    assert!(loopdev::parse_size("3Q").is_err());
}

#[test]
fn lua_create_and_detach_loop_device() {
    // The lock is this thread's for the whole test, taken outside the async
    // part (which runs on a runtime of its own), so no guard is held across
    // an await.
    let _serial = one_at_a_time();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(lua_create_and_detach());
}

/// The Lua part of [`lua_create_and_detach_loop_device`], run with the lock held.
async fn lua_create_and_detach() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lua.img");
    let host = lua_host(false);
    let guard = Detach(None);
    let chunk = format!(
        r#"
        local core = require("apex.core")
        local d = core.loop.create({{file = {file:?}, size = "32M"}})
        APEX_TEST_DEVICE = d.device
        assert(d.size == 32 * 1024 * 1024 and not d.reused and d.created_file)
        local again = core.loop.create({{file = {file:?}, size = 33554432}})
        assert(again.device == d.device and again.reused)
        assert(core.loop.detach({{device = d.device}}).detached == true)
        assert(core.loop.detach({{device = d.device}}).detached == false)
        local ok, err = pcall(core.loop.create, {{file = {file:?}, size = "12X"}})
        assert(not ok and tostring(err):find("loop.create: bad options", 1, true), tostring(err))
        "#,
        file = file.display().to_string()
    );
    let res = run_lua(&host, &chunk).await;
    let dev: Option<String> = host.lua().globals().get("APEX_TEST_DEVICE").unwrap();
    drop(Detach(dev.map(PathBuf::from)));
    drop(guard);
    res.unwrap();
}

#[test]
fn temp_loop_device_is_detached_on_drop() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.img");
    loopdev::ensure_sparse_file(&file, 8 << 20).unwrap();
    let dev = {
        let lo = TempLoop::attach(&file, None).unwrap();
        assert_eq!(
            loopdev::find_attached(&file).unwrap().as_deref(),
            Some(lo.device())
        );
        lo.device().to_path_buf()
    };
    let start = Instant::now();
    while loopdev::find_attached(&file).unwrap().is_some()
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        loopdev::find_attached(&file).unwrap(),
        None,
        "{} still attached",
        dev.display()
    );
}

/// A disk image with an MBR partition table: p1 4 MiB without a filesystem,
/// p2 60 MiB of ext4 (what whole-disk overcloud images look like).

#[test]
fn loop_device_without_root_says_so() {
    let _serial = one_at_a_time();
    require_tool("setpriv", "util-linux");
    let dir = tempfile::Builder::new()
        .prefix("apex-noroot-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let script = dir.path().join("loop.lua");
    std::fs::write(
        &script,
        format!(
            "return require('apex.core').loop.create({{file = {:?}, size = '1M'}})",
            dir.path().join("nobody.img").display().to_string()
        ),
    )
    .unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--",
        ])
        .arg(env!("CARGO_BIN_EXE_apex"))
        .arg("run")
        .arg(&script)
        .env("HOME", dir.path())
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "loop.create succeeded as nobody");
    assert!(
        stderr.contains("loop.create:") && stderr.contains("need root or CAP_SYS_ADMIN"),
        "unclear error as nobody:\n{stderr}"
    );
}
