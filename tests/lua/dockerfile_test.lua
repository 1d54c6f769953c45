-- apex.dockerfile: one operation per line, two patches append to one file.
local t = require("apex.test")

t.describe("apex.dockerfile", function()
  t.it("one operation per line, two patches append to one file", function()
    local dockerfile = require("apex.dockerfile")

    local set = dockerfile.set()
    set:get("nova-api", "reg/nova-api:t"):add({ "USER root", "RUN a" }, "first", { ["1.patch"] = "x" })
    set:get("nova-api", "ignored"):add({ "RUN b", "USER $REAL_USER" }, "second", { ["2.patch"] = "y" })
    local files = set:files()
    assert(files["nova-api/Dockerfile"] == "FROM reg/nova-api:t\nUSER root\nRUN a\nRUN b\nUSER $REAL_USER\n", files["nova-api/Dockerfile"])
    assert(files["nova-api/1.patch"] == "x" and files["nova-api/2.patch"] == "y")
    assert(#set.by_image["nova-api"].reasons == 2)
    assert(set:images()[1] == "nova-api")

    local ok, e = pcall(function() dockerfile.new("i", "f"):add({ "RUN a\nRUN b" }, "glued") end)
    assert(not ok and e:find("one line", 1, true), e)
    ok, e = pcall(function() dockerfile.new("i", "f"):add({ "yum install x" }, "no instruction") end)
    assert(not ok and e:find("does not start with an instruction", 1, true), e)
  end)
end)
