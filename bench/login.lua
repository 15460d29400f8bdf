-- POST /login, failed sign-ins spread over the seeded users
-- (u<i>@example.com, i cycling through BENCH_USERS), each with a wrong
-- password. Unknown emails are left out: they share one budget of 5 per 15
-- minutes by design, so after 5 they would measure the 429, not the check.
-- The CSRF cookie and token come from one GET /login (BENCH_CSRF_COOKIE,
-- BENCH_CSRF_TOKEN); BENCH_ORIGIN is the Origin header. Every answer should
-- be 401; each account allows 5 failures per 15 minutes from one network.
dofile(os.getenv("BENCH_DIR") .. "/status.lua")
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
local cookie = "bulwark_csrf=" .. os.getenv("BENCH_CSRF_COOKIE")
local token = os.getenv("BENCH_CSRF_TOKEN")
local origin = os.getenv("BENCH_ORIGIN")
local n = 0
local setup0 = setup
local nextid = 0
function setup(thread)
  nextid = nextid + 1
  thread:set("tid", nextid)
  setup0(thread)
end
local function esc(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
function request()
  n = n + 1
  local email = "u" .. ((n * 2 + (tid or 0)) % users) .. "@example.com"
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie, ["Origin"] = origin, ["Sec-Fetch-Site"] = "same-origin",
  }, "csrf_token=" .. esc(token) .. "&email=" .. esc(email) .. "&password=wrong+password+attempt")
end
