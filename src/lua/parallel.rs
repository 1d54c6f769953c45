//! `core.parallel.map`: runs a Lua function over a list with a bound on how
//! many calls are in flight, so independent I/O (downloads, copies, builds)
//! overlaps while the script stays sequential to read.

use futures::StreamExt;
use mlua::{Function, Lua, Table, Value};

use super::api::{Api, Effect, FnSpec, Param};

const SPEC: FnSpec = FnSpec {
    name: "parallel.map",
    doc: "Calls fn(item, index) for every item of a list, at most `limit` at once, and returns the results in list order. The first error raised is re-raised after the calls in flight finish.",
    params: &[
        Param {
            name: "items",
            ty: "any[]",
            doc: "the list to map",
        },
        Param {
            name: "fn",
            ty: "async fun(item: any, index: integer): any",
            doc: "called once per item; may call async host functions",
        },
        Param {
            name: "opts",
            ty: "{limit?: integer}?",
            doc: "limit defaults to 4",
        },
    ],
    returns: "any[]",
    is_async: true,
    effect: Effect::Local,
};

pub fn register(api: &mut Api) -> mlua::Result<()> {
    let func = api.lua().create_async_function(
        |lua: Lua, (items, f, opts): (Table, Function, Option<Table>)| async move {
            let limit = match &opts {
                Some(o) => o.get::<Option<usize>>("limit")?.unwrap_or(4).max(1),
                None => 4,
            };
            let list: Vec<Value> = items
                .sequence_values::<Value>()
                .collect::<mlua::Result<_>>()?;
            // Through the host's boundary (when there is one), so a user
            // error raised by fn stays one for whoever catches it.
            let boundary = super::boundary(&lua).ok();
            let calls = list.into_iter().enumerate().map(|(i, item)| {
                let f = f.clone();
                let boundary = boundary.clone();
                async move {
                    match boundary {
                        Some(b) => b.call_async::<Value>((f, item, i + 1)).await,
                        None => f.call_async::<Value>((item, i + 1)).await,
                    }
                }
            });
            let results: Vec<mlua::Result<Value>> =
                futures::stream::iter(calls).buffered(limit).collect().await;
            let out = lua.create_table()?;
            for (i, r) in results.into_iter().enumerate() {
                out.raw_set(i + 1, r?)?;
            }
            Ok(out)
        },
    )?;
    api.raw(SPEC, func)
}
