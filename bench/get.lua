-- GET with the headers in BENCH_HEADER (one "Name: value", optional);
-- counts statuses.
dofile(os.getenv("BENCH_DIR") .. "/status.lua")
local h = os.getenv("BENCH_HEADER")
if h and h ~= "" then
  local name, value = h:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end
