//! The image editing family's binding: `core.image.customize`.

use super::{CustomizeOpts, customize_image};
use crate::lua::api::{Api, Effect, FnSpec, Param};

const CLASSES: &str = "\
---@class apex.ImageOp
---@field op 'upload'|'write'|'mkdir'|'symlink'|'truncate'|'remove'|'unpack'|'patch'|'run'
---@field path? string absolute path in the image (write, mkdir, symlink, truncate, remove: a file or whole tree)
---@field from? string local file or directory (upload), local tar or tar.gz (unpack), local unified diff (patch)
---@field dir? string absolute directory in the image the diff applies in (patch)
---@field strip? integer leading path components stripped from the diff's paths (patch; default 1, like patch -p1)
---@field to? string absolute destination in the image (upload; the directory to unpack into)
---@field content? string file content (write)
---@field mode? integer permission bits, e.g. 420 for 0644 (upload, write, mkdir)
---@field target? string symlink target (symlink)
---@field size? integer|string bytes or e.g. \"10G\" (truncate: a sparse file)
---@field command? string shell command run inside the image with /bin/sh -c, chrooted (run)
---@field timeout? integer seconds a run may take before it is killed with all it started (run; default 1800)

---@class apex.CustomizeImageOpts
---@field image string qcow2 or raw image, rewritten in place unless output is given
---@field output? string where to write the result (same format)
---@field ops apex.ImageOp[] applied in order
---@field partition? integer partition to mount; default the largest (or the whole disk)
---@field fstype? string filesystem type; default detected
---@field backing? string write the qcow2 result as a copy-on-write overlay of this image (only differences stored)

---@class apex.CustomizeImageResult
---@field image string the written image
---@field format 'qcow2'|'raw'
---@field applied string[] a description of each operation applied
";

pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class(CLASSES);
    api.async_fn(
        FnSpec {
            name: "image.customize",
            doc: "Applies operations in order to a qcow2 or raw image through a loop mount: file operations (upload, write, mkdir, symlink, truncate, remove, unpack, patch) and `run` (a shell command chrooted into the image). The image is replaced only when every operation succeeded.",
            params: &[Param { name: "opts", ty: "apex.CustomizeImageOpts", doc: "" }],
            returns: "apex.CustomizeImageResult",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: CustomizeOpts| async move { tokio::task::spawn_blocking(move || customize_image(&o)).await? },
    )?;
    Ok(())
}
