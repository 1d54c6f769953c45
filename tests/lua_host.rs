//! The Lua host through the real binary: module resolution and overrides,
//! errors with file:line, the parallel map, stubs, and `apex test`.

use std::path::Path;
use std::process::{Command, Output};

fn apex(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apex"));
    cmd.args(args).env_remove("APEX_LUA_PATH");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run apex")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Writes `lua` to `script` and runs it with `apex run`.
fn run_script(script: &Path, lua: &str) -> Output {
    write(script, lua);
    apex(&["run", script.to_str().unwrap()], &[])
}

fn write(path: &Path, s: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, s).unwrap();
}

#[test]
fn override_dir_shadows_shipped_module_and_cli_beats_env() {
    let d = tempfile::tempdir().unwrap();
    let cli_dir = d.path().join("cli");
    let env_dir = d.path().join("env");
    write(&cli_dir.join("apex/util.lua"), "return { who = 'cli' }");
    write(&env_dir.join("apex/util.lua"), "return { who = 'env' }");
    write(
        &env_dir.join("apex/only_env.lua"),
        "return { who = 'env-only' }",
    );
    let script = d.path().join("s.lua");
    write(
        &script,
        "print(require('apex.util').who, require('apex.only_env').who, type(require('apex.test').expect))",
    );

    let o = apex(
        &[
            "--lua-path",
            cli_dir.to_str().unwrap(),
            "run",
            script.to_str().unwrap(),
        ],
        &[("APEX_LUA_PATH", env_dir.to_str().unwrap())],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out.trim(), "cli\tenv-only\tfunction");

    let o = apex(
        &["run", script.to_str().unwrap()],
        &[("APEX_LUA_PATH", env_dir.to_str().unwrap())],
    );
    let (out, _) = text(&o);
    assert_eq!(
        out.lines().next().unwrap_or("").split('\t').next(),
        Some("env")
    );
}

#[test]
fn errors_show_the_script_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("boom.lua");
    let o = run_script(
        &script,
        "local core = require('apex.core')\n\nlocal function f()\n  core.fs.read({path = '/nonexistent/x'})\nend\nf()\n",
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("fs.read: cannot read /nonexistent/x"), "{err}");
    assert!(
        err.contains(&format!("{}:4:", script.display())),
        "no file:line in {err}"
    );
}

#[test]
fn syntax_error_in_an_override_names_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    write(
        &d.path().join("apex/util.lua"),
        "local M = {}\nfunction M.x(\nreturn M\n",
    );
    let script = d.path().join("s.lua");
    write(&script, "require('apex.util')");
    let o = apex(
        &[
            "--lua-path",
            d.path().to_str().unwrap(),
            "run",
            script.to_str().unwrap(),
        ],
        &[],
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("apex/util.lua:3:"), "{err}");
}

#[test]
fn parallel_map_keeps_order_and_bounds_concurrency() {
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("p.lua");
    write(
        &script,
        r#"
local core = require("apex.core")
local running, peak = 0, 0
local out = core.parallel.map({5, 4, 3, 2, 1, 0}, function(x, i)
  running = running + 1
  if running > peak then peak = running end
  core.os.sleep({seconds = 0.05})
  running = running - 1
  return x * 10 + i
end, {limit = 3})
assert(#out == 6, "length " .. #out)
for i, v in ipairs(out) do assert(v == (6 - i) * 10 + i, "order at " .. i .. ": " .. v) end
assert(peak == 3, "peak concurrency " .. peak)
"#,
    );
    let o = apex(&["run", script.to_str().unwrap()], &[]);
    let (_, err) = text(&o);
    // The peak of calls in flight (asserted in the script) shows both the overlap and the bound.
    assert!(o.status.success(), "{err}");
}

/// `core.data.sha256` of a file hashes on a blocking task: other work in flight
/// goes on meanwhile, and SIGINT stops it at once (a 64 GiB sparse file
/// would take tens of seconds). Text and file digests are SHA-256's.
#[test]
fn sha256_of_a_file_leaves_the_lua_thread_free_and_stops_on_a_signal() {
    use std::io::BufRead as _;
    use std::time::{Duration, Instant};
    let d = tempfile::tempdir().unwrap();
    let abc = d.path().join("abc");
    write(&abc, "abc");
    let script = d.path().join("hash.lua");
    write(
        &script,
        "local core = require('apex.core')\nlocal path, abc = ...\n\
         local want = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'\n\
         assert(core.data.sha256({ text = 'abc' }).hex == want, 'text')\n\
         assert(core.data.sha256({ path = abc }).hex == want, 'path')\n\
         local ok, e = pcall(core.data.sha256, { path = abc .. '.missing' })\n\
         assert(not ok and tostring(e):find('cannot read', 1, true), tostring(e))\n\
         io.write('digests ok\\n'); io.flush()\n\
         local out = core.parallel.map({ 'hash', 'tick' }, function(what)\n\
           if what == 'hash' then return core.data.sha256({ path = path }).hex end\n\
           core.os.sleep({ seconds = 0.2 })\n\
           io.write('ticked\\n'); io.flush()\n\
         end, { limit = 2 })\n\
         print('hashed', out[1])\n",
    );
    let big = d.path().join("big.img");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_apex"))
        .args(["run", script.to_str().unwrap(), big.to_str().unwrap()])
        .arg(abc.to_str().unwrap())
        .env_remove("APEX_LUA_PATH")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(
        lines.next().and_then(Result::ok).as_deref(),
        Some("digests ok")
    );
    // The sleeping item finishes while the file is being hashed.
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("ticked"));
    let sent = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    assert!(rest.is_empty(), "the hash finished: {rest:?}");
}

#[test]
fn parallel_map_reraises_an_error_with_its_location() {
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("p.lua");
    let o = run_script(
        &script,
        "local core = require('apex.core')\ncore.parallel.map({1, 2}, function(x)\n  if x == 2 then error('item two failed') end\n  return x\nend)\n",
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("p.lua:3: item two failed"), "{err}");
}

#[test]
fn stubs_list_every_registered_function() {
    let doc = apex::lua::api_doc().unwrap();
    let stub = apex::lua::stubs::core_stub(&doc);
    let host = apex::lua::Host::new(Default::default()).unwrap();
    let core: mlua::Table = host
        .lua()
        .load("return require('apex.core')")
        .eval()
        .unwrap();
    // Every family table is a class of the stubs, every function in it a stub.
    let mut n = 0;
    for pair in core.pairs::<String, mlua::Value>() {
        let (family, v) = pair.unwrap();
        let mlua::Value::Table(t) = v else { continue };
        assert!(
            stub.contains(&format!("---@class apex.core.{family}\n")),
            "no class for core.{family}"
        );
        for pair in t.pairs::<String, mlua::Value>() {
            let (name, v) = pair.unwrap();
            assert!(
                matches!(v, mlua::Value::Function(_)),
                "core.{family}.{name}"
            );
            n += 1;
            assert!(
                stub.contains(&format!("function core.{family}.{name}(")),
                "no stub for core.{family}.{name}"
            );
        }
    }
    assert_eq!(n, doc.functions.len(), "functions outside a family");
    assert!(n >= 60, "only {n} functions registered");
    for f in &doc.functions {
        if f.is_async {
            let at = stub.find(&format!("function core.{}(", f.name)).unwrap();
            let before = &stub[..at];
            let last_block = before.rsplit("\n\n").next().unwrap();
            assert!(
                last_block.contains("---@async"),
                "core.{} lacks ---@async",
                f.name
            );
        }
    }
    // The stub is Lua: run, it builds the same tree of tables and functions.
    let stubbed: mlua::Table = host.lua().load(stub.as_str()).eval().unwrap();
    let shape = |t: &mlua::Table| -> Vec<String> {
        let mut out = Vec::new();
        for pair in t.pairs::<String, mlua::Value>() {
            let (k, v) = pair.unwrap();
            match v {
                mlua::Value::Table(t) => {
                    for pair in t.pairs::<String, mlua::Value>() {
                        out.push(format!("{k}.{}", pair.unwrap().0));
                    }
                }
                mlua::Value::Function(_) => out.push(k),
                _ => {}
            }
        }
        out.sort();
        out
    };
    assert_eq!(shape(&stubbed), shape(&core));
    // Each flat alias is a deprecated stub naming its replacement.
    for a in doc.aliases.iter().filter(|a| !a.is_family()) {
        let at = stub
            .find(&format!("\nfunction core.{}(", a.old))
            .unwrap_or_else(|| panic!("no stub for the alias core.{}", a.old));
        let block = stub[..at].rsplit("\n\n").next().unwrap();
        assert!(
            block.starts_with(&format!("---@deprecated use core.{}\n", a.new)),
            "core.{}: {block}",
            a.old
        );
    }
}

/// The flat names of the release before stay for one release: each one is the
/// very function of its `family.name` (`core.log.write` and `core.modules.list`, now
/// family tables, answer the old call through `__call`), and each is listed in
/// docs/host-api.md with its replacement.
#[test]
fn every_deprecated_alias_is_its_namespaced_function() {
    let doc = apex::lua::api_doc().unwrap();
    let host = apex::lua::Host::new(Default::default()).unwrap();
    let core: mlua::Table = host
        .lua()
        .load("return require('apex.core')")
        .eval()
        .unwrap();
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/host-api.md")).unwrap();
    assert_eq!(doc.aliases.len(), apex::lua::names::DEPRECATED.len());
    for (old, new) in apex::lua::names::DEPRECATED {
        let (family, name) = new.split_once('.').unwrap();
        let f: mlua::Function = core
            .get::<mlua::Table>(family)
            .unwrap()
            .get(name)
            .unwrap_or_else(|e| panic!("core.{new}: {e}"));
        match core.get::<mlua::Value>(*old).unwrap() {
            mlua::Value::Function(g) => assert_eq!(f, g, "core.{old} is not core.{new}"),
            mlua::Value::Table(t) => {
                let call = t
                    .metatable()
                    .and_then(|m| m.get::<mlua::Function>("__call").ok());
                assert!(call.is_some(), "core.{old} is a table without __call");
            }
            other => panic!("core.{old} is {other:?}"),
        }
        assert!(
            docs.contains(&format!("| `core.{old}` | `core.{new}` |")),
            "docs/host-api.md does not list core.{old} -> core.{new}"
        );
    }
    // The two old calls of what are now families answer as before.
    let same: bool = host
        .lua()
        .load(
            "local core = require('apex.core')
             core.log.write({ level = 'debug', msg = 'through the old name' })
             local a = core.modules.list({ kind = 'plugins' })
             local b = core.modules.list({ kind = 'plugins' })
             return #a.modules == #b.modules and a.modules[1].name == b.modules[1].name",
        )
        .eval()
        .unwrap();
    assert!(same);
}

/// No shipped Lua (stdlib, scripts, plugins, examples) nor the docs' and the
/// Lua tests' snippets call a deprecated flat name: they are for one release.
#[test]
fn no_shipped_lua_uses_a_deprecated_alias() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    for dir in [
        "stdlib",
        "scripts",
        "plugins",
        "examples",
        "docs",
        "tests/lua",
    ] {
        walk(&root.join(dir), &mut files);
    }
    files.push(root.join("README.md"));
    files.retain(|p| !p.ends_with("docs/host-api.md"));
    assert!(files.len() > 60, "{} files", files.len());
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut found = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for (old, new) in apex::lua::names::DEPRECATED {
            let family = apex::lua::names::family_doc(old).is_some();
            for (at, _) in text.match_indices(&format!("core.{old}")) {
                if text[..at].ends_with(ident) {
                    continue;
                }
                let rest = &text[at + 5 + old.len()..];
                let deprecated = if family {
                    // `core.log.write(...)`, `core.log.write { ... }`: the family table called.
                    rest.trim_start().starts_with(['(', '{'])
                } else {
                    !rest.starts_with(|c: char| ident(c) || c == '.')
                };
                if deprecated {
                    let line = text[..at].lines().count().max(1);
                    found.push(format!(
                        "{}:{line}: core.{old} (use core.{new})",
                        f.display()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "deprecated names in use:\n{}",
        found.join("\n")
    );
}

#[test]
fn lua_types_writes_stubs_and_luarc() {
    let d = tempfile::tempdir().unwrap();
    let o = apex(&["lua-types", d.path().to_str().unwrap()], &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let core = std::fs::read_to_string(d.path().join("meta/apex/core.lua")).unwrap();
    assert!(core.starts_with("---@meta apex.core"));
    assert!(core.contains("function core.parallel.map(items, fn, opts) end"));
    assert!(d.path().join("meta/apex/test.lua").is_file());
    let rc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join(".luarc.json")).unwrap())
            .unwrap();
    assert_eq!(rc["runtime.version"], "Lua 5.4");
}

#[test]
fn apex_test_counts_passes_and_failures_truthfully() {
    let d = tempfile::tempdir().unwrap();
    write(
        &d.path().join("a_test.lua"),
        "local t = require('apex.test')\nt.it('passes', function() t.expect(1).to_be(1) end)\nt.it('fails', function()\n  t.expect({1}).to_equal({2})\nend)\n",
    );
    write(
        &d.path().join("sub/b_test.lua"),
        "local t = require('apex.test')\nt.describe('g', function() t.it('ok', function() end) end)\n",
    );
    write(
        &d.path().join("sub/helper.lua"),
        "error('must not be loaded')",
    );
    let o = apex(&["test", d.path().to_str().unwrap()], &[]);
    let (out, _) = text(&o);
    assert!(!o.status.success(), "a failing test must fail the command");
    assert!(out.lines().any(|l| l == "2 passed, 1 failed"), "{out}");
    assert!(
        out.contains("a_test.lua:3"),
        "failure location missing: {out}"
    );
    assert!(out.contains("expected {2}, got {1}"), "{out}");

    std::fs::remove_file(d.path().join("a_test.lua")).unwrap();
    let o = apex(&["test", d.path().to_str().unwrap()], &[]);
    assert!(o.status.success());
    assert!(text(&o).0.lines().any(|l| l == "1 passed, 0 failed"));
}

#[test]
fn shipped_lua_tests_pass() {
    let o = apex(
        &["test", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lua")],
        &[],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
}

#[test]
fn plan_mode_host_refuses_nothing_local() {
    // `apex test` runs in plan mode; local helpers still work there.
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().display().to_string();
    write(
        &d.path().join("fs_test.lua"),
        &format!(
            "local core = require('apex.core')\nlocal t = require('apex.test')\nt.it('writes', function()\n  core.fs.write({{path = '{dir}/out/x.txt', content = 'hi'}})\n  t.expect(core.fs.read({{path = '{dir}/out/x.txt'}}).content).to_equal('hi')\nend)\n"
        ),
    );
    let o = apex(&["test", d.path().to_str().unwrap()], &[]);
    assert!(o.status.success(), "{:?}", text(&o));
}

#[test]
fn run_passes_arguments_as_varargs() {
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("a.lua");
    write(&script, "print(select('#', ...), ...)");
    let o = apex(&["run", script.to_str().unwrap(), "one", "--two"], &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(text(&o).0, "2\tone\t--two\n");
}

/// The overcloud stack followed while the deploy command runs
/// (apex.stack_watch): a bar of resources complete / total when the console
/// is a terminal (stderr on a pseudo-terminal made by util-linux `script`),
/// lines when it is not; the bar's id is finished, so a second use works.
#[test]
fn stack_progress_is_a_bar_on_a_terminal_and_lines_otherwise() {
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("watch.lua");
    write(
        &script,
        &format!(
            r#"local core = require("apex.core")
local w = require("apex.stack_watch")
local n = 0
local function poll()
  n = n + 1
  local st = n >= 2 and "CREATE_COMPLETE" or "CREATE_IN_PROGRESS"
  return {{ {{ resource_name = "Controller", resource_status = "CREATE_COMPLETE" }},
           {{ resource_name = "Compute", resource_status = st }},
           {{ resource_name = "Networks", resource_status = "CREATE_IN_PROGRESS" }} }}
end
for _ = 1, 2 do
  w.while_running({{ tmp_dir = {tmp:?}, every = 0.25, quiet_time = 60, poll = poll }},
    function() core.os.sleep({{ seconds = 1.2 }}) end)
end
print("watched")
"#,
            tmp = d.path().display().to_string()
        ),
    );
    // Not a terminal: progress lines on the console.
    let o = apex(&["run", script.to_str().unwrap()], &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out.trim(), "watched");
    assert!(
        err.contains("overcloud stack: 2/3 resources complete"),
        "{err}"
    );
    assert!(!err.contains("[===="), "a bar off a terminal:\n{err}");

    // A terminal: the bar, not the lines.
    let cmd = format!(
        "{} run {} 2>&1",
        env!("CARGO_BIN_EXE_apex"),
        script.display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("APEX_LUA_PATH")
        .env("COLUMNS", "160")
        .output()
        .expect("lab part missing: `script` (Debian bsdutils, an essential package)");
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{tty}");
    assert!(tty.contains("watched"), "{tty}");
    assert!(
        tty.contains("overcloud stack resources") && tty.contains("/3"),
        "no bar on the terminal:\n{tty}"
    );
    assert!(
        !tty.contains("resources complete"),
        "progress lines on a terminal with the bar:\n{tty}"
    );
}

/// A user error is a typed value (util.fail), not a message shape: it leaves
/// as its message alone, also from inside parallel_map, and reads like a
/// string to Lua code that catches it; a plain `error(msg, 0)` is a bug and
/// keeps its traceback.
#[test]
fn user_errors_are_typed_and_bugs_keep_their_traceback() {
    let d = tempfile::tempdir().unwrap();
    let run = |name: &str, body: &str| {
        let p = d.path().join(name);
        write(&p, body);
        let o = apex(&["run", p.to_str().unwrap()], &[]);
        assert!(!o.status.success(), "{name} succeeded: {:?}", text(&o));
        text(&o).1
    };
    let head = "local core = require('apex.core')\nlocal util = require('apex.util')\n";

    let err = run("user.lua", &format!("{head}util.fail('bad key %s', 'x')\n"));
    assert_eq!(err.trim(), "error: bad key x");

    let err = run(
        "parallel.lua",
        &format!(
            "{head}core.parallel.map({{1, 2}}, function(i)\n  if i == 2 then util.fail('item %d is bad', i) end\nend)\n"
        ),
    );
    assert_eq!(err.trim(), "error: item 2 is bad");

    // Caught: the value says what it is and reads like its message.
    let err = run(
        "caught.lua",
        &format!(
            "{head}local ok, e = pcall(util.fail, 'no such %s', 'plugin')\n\
             assert(not ok and util.is_user_error(e) and e.kind == 'user')\n\
             assert(e:find('such', 1, true) == 4 and tostring(e) == 'no such plugin' and #e == 14)\n\
             util.fail('rethrown: ' .. e)\n"
        ),
    );
    assert_eq!(err.trim(), "error: rethrown: no such plugin");

    // No file:line and level 0 do not make a message a user error any more.
    let err = run("plain.lua", &format!("{head}error('looks clean', 0)\n"));
    assert!(
        err.contains("looks clean") && err.contains("stack traceback"),
        "{err}"
    );
    let err = run(
        "bug.lua",
        &format!("{head}core.parallel.map({{1}}, function(i) local t = nil; return t[i] end)\n"),
    );
    assert!(
        err.contains("bug.lua:3: attempt to index a nil value") && err.contains("stack traceback"),
        "{err}"
    );
}

/// What a server sends is bounded: `core.http.get` refuses a body past its
/// `max_bytes` (announced by Content-Length or only streamed), and the
/// waits a script asks for are checked instead of panicking the host.
#[test]
fn answers_and_waits_are_bounded() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("big.json"), vec![b'x'; 100_000]).unwrap();
    let server = apex_lab::ArtifactServer::start(&root).unwrap();
    let script = d.path().join("s.lua");
    let lua = format!(
        r#"local core = require("apex.core")
local url = "{url}"
assert(#core.http.get({{ url = url }}).body == 100000, "the default limit reads it")
local ok, e = pcall(core.http.get, {{ url = url, max_bytes = 1000 }})
assert(not ok and tostring(e):find("longer than 1000 bytes", 1, true), tostring(e))
local ok2, e2 = pcall(core.os.sleep, {{ seconds = math.huge }})
assert(not ok2 and tostring(e2):find("seconds: got inf (valid: 0 to 86400)", 1, true), tostring(e2))
local ok3, e3 = pcall(core.http.get, {{ url = url, timeout = -1 }})
assert(not ok3 and tostring(e3):find("timeout: got -1", 1, true), tostring(e3))
-- Checked before any request: no registry is asked.
local ok4, e4 = pcall(core.registry.mirror, {{ images = {{}}, concurrency = 0 }})
assert(not ok4 and tostring(e4):find("concurrency: got 0 (valid: 1 to 256)", 1, true), tostring(e4))
local ok5, e5 = pcall(core.registry.copy, {{ source = "127.0.0.1:9/a:b", destination = "127.0.0.1:9/c:d",
  blob_concurrency = 100000 }})
assert(not ok5 and tostring(e5):find("blob_concurrency: got 100000 (valid: 1 to 256)", 1, true), tostring(e5))
print("bounded")"#,
        url = server.url("big.json")
    );
    let out = run_script(&script, &lua);
    let (so, se) = text(&out);
    assert!(out.status.success(), "{so}\n{se}");
    assert!(so.contains("bounded"), "{so}\n{se}");
    // Streamed without a length: refused as it passes the limit.
    server.set_fault(apex_lab::artifact_server::Fault::NoLength {
        after: 100_000,
        chunked: true,
    });
    let lua = format!(
        r#"local core = require("apex.core")
local ok, e = pcall(core.http.get, {{ url = "{url}", max_bytes = 1000 }})
assert(not ok and tostring(e):find("longer than 1000 bytes", 1, true), tostring(e))
print("streamed")"#,
        url = server.url("big.json")
    );
    let out = run_script(&script, &lua);
    let (so, se) = text(&out);
    assert!(
        out.status.success() && so.contains("streamed"),
        "{so}\n{se}"
    );
}
