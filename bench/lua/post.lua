-- POST a 64 KB body (application/octet-stream) on every request.
local chunk = "0123456789abcdef"
wrk.method = "POST"
wrk.body = string.rep(chunk, 65536 / #chunk)
wrk.headers["Content-Type"] = "application/octet-stream"
