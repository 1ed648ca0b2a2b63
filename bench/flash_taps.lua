-- wrk script of the flash sale's HTTP case: every request is one shopper's tap on Buy, as the
-- live page's script sends it (session cookie, CSRF cookie and header, a fresh idempotency
-- key, JSON wanted). Shoppers come from the file named by FLASH_SHOPPERS, one
-- "session csrf" pair a line; each thread takes every n-th one. The answers' statuses are
-- counted and printed as one JSON line at the end.

local shoppers = {}
local threads = {}
local counter = 0
local first = 1
local step = 1
statuses = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("FLASH_SHOPPERS")) do
    local session, csrf = line:match("^(%S+) (%S+)$")
    table.insert(shoppers, { session = session, csrf = csrf })
  end
  first = id
  step = tonumber(os.getenv("FLASH_THREADS"))
  counter = first
end

function request()
  local shopper = shoppers[((counter - 1) % #shoppers) + 1]
  local key = os.getenv("FLASH_RUN") .. id .. "-" .. counter
  counter = counter + step
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
    ["Cookie"] = "vitrine_session=" .. shopper.session .. "; vitrine_csrf=" .. shopper.csrf,
    ["X-CSRF-Token"] = shopper.csrf,
  }
  return wrk.format("POST", nil, headers, "idempotency_key=" .. key)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    for status, count in pairs(counted) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  io.write(string.format(
    'FLASH {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, '
      .. '"socket_errors": %d, "statuses": {%s}}\n',
    summary.requests,
    summary.duration / 1e6,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ", ")
  ))
end
