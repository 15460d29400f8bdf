-- POST /api/users with a new email on every request:
-- {"name":"B","email":"b<counter>-<thread>-<run>@example.com"}.
-- BENCH_HEADER carries the API key; BENCH_RUN keeps emails unique across runs.
dofile(os.getenv("BENCH_DIR") .. "/status.lua")
local name, value = os.getenv("BENCH_HEADER"):match("^([^:]+):%s*(.*)$")
local run = os.getenv("BENCH_RUN") or "0"
local n = 0
local setup0 = setup
local nextid = 0
function setup(thread)
  nextid = nextid + 1
  thread:set("tid", nextid)
  setup0(thread)
end
function request()
  n = n + 1
  return wrk.format("POST", nil,
    { [name] = value, ["Content-Type"] = "application/json" },
    '{"name":"B","email":"b' .. n .. '-' .. (tid or 0) .. '-' .. run .. '@example.com"}')
end
