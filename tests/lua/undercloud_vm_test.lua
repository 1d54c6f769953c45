-- apex.undercloud_vm: the image customization puts the host key where sshd_config names it.
local t = require("apex.test")

t.describe("apex.undercloud_vm", function()
  local uvm = require("apex.undercloud_vm")

  local function paths(pub)
    local out = {}
    for _, op in ipairs(uvm.inject_ops({ authorized_key = "ssh-ed25519 AAAAC3 apex", host_key = "KEY\n",
      host_key_pub = pub, nics = {}, hostname = "undercloud.example.com" })) do
      if op.op == "write" and op.path:match("^/etc/ssh/") then out[op.path] = op.content end
    end
    return out
  end

  t.it("writes the host key as ssh_host_<type>_key for Ed25519 and for the RSA key of an earlier apex", function()
    t.expect(paths("ssh-ed25519 AAAAC3 undercloud host key")).to_equal({
      ["/etc/ssh/ssh_host_ed25519_key"] = "KEY\n",
      ["/etc/ssh/ssh_host_ed25519_key.pub"] = "ssh-ed25519 AAAAC3 undercloud host key\n",
    })
    t.expect(paths("ssh-rsa AAAAB3 undercloud host key")).to_equal({
      ["/etc/ssh/ssh_host_rsa_key"] = "KEY\n",
      ["/etc/ssh/ssh_host_rsa_key.pub"] = "ssh-rsa AAAAB3 undercloud host key\n",
    })
    local ok, err = pcall(paths, "ssh-dss AAAA x")
    t.expect(ok).to_be(false)
    t.expect(tostring(err)).to_contain("expected an ssh-ed25519 or ssh-rsa key")
  end)
end)
