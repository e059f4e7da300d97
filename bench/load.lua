-- wrk script for bench/http_load.py: one method, requests rotated over (path, token) pairs,
-- an optional body file, a per-thread request cap, and a JSON summary on stdout.
-- args: METHOD MAX_PER_THREAD BODY_FILE|- CONTENT_TYPE PATH TOKEN [PATH TOKEN ...]

local requests, index, answered, cap = {}, 0, 0, 0

function init(args)
  local method, body = args[1], nil
  cap = tonumber(args[2])
  if args[3] ~= "-" then
    local file = assert(io.open(args[3], "rb"))
    body = file:read("*a")
    file:close()
  end
  for i = 5, #args, 2 do
    local headers = { Authorization = "Bearer " .. args[i + 1] }
    if body then headers["Content-Type"] = args[4] end
    requests[#requests + 1] = wrk.format(method, args[i], headers, body)
  end
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  answered = answered + 1
  if answered >= cap then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "min_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.min, latency.max))
end
